/**
 * The Lua scripts of the shared objects: every step that reads and then writes runs as one script,
 * so it is atomic on the Redis server. Times come from the server's clock (`TIME`), never from a
 * client's, so clients on machines whose clocks disagree still agree on when a lease ran out.
 */

/** A script: how many of its arguments are keys, and its source. */
export interface Script {
  readonly keys: number;
  readonly lua: string;
}

/**
 * Running twice. ioredis sends again, after a reconnect, every command whose reply it had not
 * received (`autoResendUnfulfilledCommands`). When the connection dropped after Redis ran a
 * command but before its reply arrived, and Redis kept its data (a network cut, a restart with
 * AOF), the command runs twice. Every script below says why that is harmless: most act on a
 * token or a condition that the first run already settled; the others are {@link once}.
 */

/**
 * How long the record of a handle's last commands lives after its last command (ms): it must
 * outlive any re-send of them, i.e. any reconnect of a process still running; a handle that
 * disconnects deletes it at once when nothing of it is unanswered.
 */
export const SEQ_TTL = 24 * 3600 * 1000;

/**
 * Makes a script run once per call even when ioredis sends it twice. Each handle numbers its
 * state-changing commands (a sequence that grows in send order) and passes, after the script's own
 * arguments, one more key and two more arguments: its record (`<prefix>seq:<handle>`, a sorted
 * set scored by sequence number, in the object's hash slot), the call's sequence number, and
 * `acked`: every call of the handle numbered up to it has had its reply, so none of them can be
 * sent again, and their records are dropped. The script records its outcome under its number;
 * a second run finds it and returns it unchanged, touching nothing else. So the caller gets the
 * answer of the run that counted (an item taken, a fence, "full"…), whichever run's reply arrives.
 * This does not rest on the order calls run in: a record goes only once its own call was
 * answered (`acked` is below every number still unanswered), so a re-sent call always finds it.
 *
 * Why a window and not only the last number: a handle may have several calls unanswered at once
 * (concurrent puts), all re-sent in order; the first re-run must still find its own outcome,
 * though later calls ran after it. Why cheap: one round trip as before (the record is part of the
 * script), and memory per handle is bounded by its unanswered calls (plus the last one's outcome,
 * e.g. one item's bytes for a get), not by the items that went through; the key goes at
 * disconnect, or by TTL after a handle's last call (a process that died). Outcomes are stored with cmsgpack (binary safe:
 * an item's bytes come back exactly; `false` stays a nil reply).
 */
function once(keys: number, body: string): Script {
  return {
    keys: keys + 1,
    lua: `local seqkey = table.remove(KEYS)
local acked = table.remove(ARGV)
local seq = table.remove(ARGV)
if tonumber(acked) > 0 then redis.call('ZREMRANGEBYSCORE', seqkey, '-inf', acked) end
local done = redis.call('ZRANGEBYSCORE', seqkey, seq, seq, 'LIMIT', 0, 1)
if done[1] then return cmsgpack.unpack(string.sub(done[1], #seq + 2)) end
local out = (function()
${body}
end)()
redis.call('ZADD', seqkey, seq, seq .. ':' .. cmsgpack.pack(out))
redis.call('PEXPIRE', seqkey, ${SEQ_TTL})
return out`,
  };
}

const NOW = `local function now() local t = redis.call('TIME'); return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) end\n`;

// Semaphore: permits held by holders whose lease ran out come back (at most up to the bound of a
// bounded one) and are counted as died, so their next takers learn it.
// KEYS: avail, holders, died; ARGV[value], ARGV[bounded] by position (see the callers).
const REAP = `local function reap(t, value, bounded)
  local n = redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', t)
  if n == 0 then return 0 end
  if bounded == '1' then n = math.min(n, value - tonumber(redis.call('GET', KEYS[1]))) end
  if n > 0 then
    redis.call('INCRBY', KEYS[1], n)
    redis.call('INCRBY', KEYS[3], n)
  end
  return n
end\n`;

export const SCRIPTS = {
  /**
   * Records a handle's settings the first time, returns the ones recorded. KEYS: meta. ARGV: field, value, field, value…
   * Twice: HSETNX writes only the first time; the second run reads the same settings.
   */
  tkMeta: {
    keys: 1,
    lua: `local out = {}
for i = 1, #ARGV, 2 do
  redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1])
  out[#out + 1] = redis.call('HGET', KEYS[1], ARGV[i])
end
return out`,
  },

  // -- Queue -----------------------------------------------------------------

  /**
   * KEYS: items, closed, unfinished. ARGV: item, maxsize, joinable, channel. → size after, -1 closed, -2 full.
   * Twice: would put the item twice (and count it twice); {@link once}.
   */
  tkQueuePut: once(
    3,
    `if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
local n = redis.call('LLEN', KEYS[1])
local max = tonumber(ARGV[2])
if max > 0 and n >= max then return -2 end
redis.call('RPUSH', KEYS[1], ARGV[1])
if ARGV[3] == '1' then redis.call('INCR', KEYS[3]) end
redis.call('PUBLISH', ARGV[4], 'put')
return n + 1`,
  ),

  /**
   * KEYS: items, processing, closed, lease, consumers. ARGV: consumer id, lease ms, ack (how many
   * items at the head of the processing list the caller is done with: a plain queue's last item),
   * keep (how many items the caller owns after that), maxsize, channel.
   * Items past `keep` at the tail of the processing list were moved there by attempts the caller
   * gave up on (see queue.ts): they go back to the head of the queue, oldest first. When this
   * consumer's lease had run out, its items were (or are about to be) taken back as a dead
   * consumer's: nothing is kept then. → the item (moved into processing), -1 closed and empty, 0 empty.
   * Twice: would acknowledge (LPOP) `ack` more items, the caller's own not yet done among them (an
   * item lost), give back items past `keep` that the first run's item now is one of, and take a
   * second item; {@link once} (the second run answers the first run's item).
   */
  tkQueueGet: once(
    5,
    `local ack = tonumber(ARGV[3])
if ack > 0 then redis.call('LPOP', KEYS[2], ack) end
local keep = tonumber(ARGV[4])
if redis.call('EXISTS', KEYS[4]) == 0 then keep = 0 end
local back = 0
while redis.call('LLEN', KEYS[2]) > keep do
  redis.call('LMOVE', KEYS[2], KEYS[1], 'RIGHT', 'LEFT')
  back = back + 1
end
redis.call('SET', KEYS[4], '1', 'PX', ARGV[2])
redis.call('SADD', KEYS[5], ARGV[1])
if back > 0 then redis.call('PUBLISH', ARGV[6], 'back') end
local v = redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT')
if v then
  if tonumber(ARGV[5]) > 0 then redis.call('PUBLISH', ARGV[6], 'got') end
  return v
end
if redis.call('EXISTS', KEYS[3]) == 1 then return -1 end
return 0`,
  ),

  /**
   * Gives back the items of given-up attempts (past `keep` at the tail of the processing list) to
   * the head of the queue; everything when the lease had run out. KEYS: items, processing, lease.
   * ARGV: keep, channel. → items moved.
   * Twice: a get sent after it may have run in between and put its item past `keep`; the second
   * run would give that item back while its caller has it (delivered twice); {@link once}.
   */
  tkQueueTrim: once(
    3,
    `local keep = tonumber(ARGV[1])
if redis.call('EXISTS', KEYS[3]) == 0 then keep = 0 end
local back = 0
while redis.call('LLEN', KEYS[2]) > keep do
  redis.call('LMOVE', KEYS[2], KEYS[1], 'RIGHT', 'LEFT')
  back = back + 1
end
if back > 0 then redis.call('PUBLISH', ARGV[2], 'back') end
return back`,
  ),

  /** Keeps a consumer alive. KEYS: lease, consumers. ARGV: consumer id, lease ms. Twice: sets the same lease again, adds the same member. */
  tkQueueRenew: {
    keys: 2,
    lua: `redis.call('SET', KEYS[1], '1', 'PX', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
return 1`,
  },

  /**
   * Returns the processing items of every consumer whose lease ran out to the head of the queue,
   * oldest first. KEYS: items, consumers. ARGV: key prefix, channel. → items moved.
   * Twice: it acts on what is true when it runs (a consumer with no lease has no owner for its
   * items); a second run finds those lists empty, or finds what is again right to take back.
   */
  tkQueueRecover: {
    keys: 2,
    lua: `local moved = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if redis.call('EXISTS', ARGV[1] .. 'lease:' .. id) == 0 then
    local proc = ARGV[1] .. 'proc:' .. id
    while redis.call('LMOVE', proc, KEYS[1], 'RIGHT', 'LEFT') do moved = moved + 1 end
    redis.call('SREM', KEYS[2], id)
  end
end
if moved > 0 then redis.call('PUBLISH', ARGV[2], 'back') end
return moved`,
  },

  /**
   * A consumer leaves: the `ack` items at the head of its processing list are done (a plain
   * queue's last item), the others go back to the head of the queue (a joinable queue's items not
   * yet marked done, and items of attempts given up on). KEYS: items, processing, lease, consumers.
   * ARGV: consumer id, ack, channel.
   * Twice: the first run emptied the processing list, and the handle sends nothing after it (it
   * is disconnecting), so the second run pops and moves nothing; DEL and SREM again change nothing.
   */
  tkQueueLeave: {
    keys: 4,
    lua: `local moved = 0
local ack = tonumber(ARGV[2])
if ack > 0 then redis.call('LPOP', KEYS[2], ack) end
while redis.call('LMOVE', KEYS[2], KEYS[1], 'RIGHT', 'LEFT') do moved = moved + 1 end
redis.call('DEL', KEYS[3])
redis.call('SREM', KEYS[4], ARGV[1])
if moved > 0 then redis.call('PUBLISH', ARGV[3], 'back') end
return moved`,
  },

  /** KEYS: closed. ARGV: channel. Twice: sets the same flag again (a closed queue stays closed), one more wake-up. */
  tkQueueClose: {
    keys: 1,
    lua: `redis.call('SET', KEYS[1], '1')
redis.call('PUBLISH', ARGV[1], 'closed')
return 1`,
  },

  /**
   * KEYS: unfinished, processing. ARGV: channel. → unfinished after; -2 when this consumer holds no
   * item (its lease ran out and its items were taken back: they are delivered again, and counted
   * done once, by whoever gets them next).
   * An item counts done only as it leaves the processing list: a task is counted once per item,
   * never once per delivery (counting deliveries let an item delivered twice bring `unfinished` to
   * 0 early, after which taskDone refused and the items left were delivered over and over).
   * Twice: would count a task done twice and acknowledge the next item not yet done (lost); {@link once}.
   */
  tkQueueTaskDone: once(
    2,
    `if not redis.call('LPOP', KEYS[2]) then return -2 end
local u = tonumber(redis.call('GET', KEYS[1]) or '0')
if u > 0 then u = redis.call('DECR', KEYS[1]) end
if u == 0 then redis.call('PUBLISH', ARGV[1], 'done') end
return u`,
  ),

  // -- Lock ------------------------------------------------------------------

  /**
   * KEYS: lock, held, fence. ARGV: token, lease ms. → nil when held, else { fence, died (1/0) }.
   * Twice: SET NX would fail on our own token and answer "held": the caller would not know it
   * holds the lock, which stays taken until its lease runs out; {@link once} (the fence and the
   * news of a dead holder come back as the first run gave them).
   */
  tkLockAcquire: once(
    3,
    `if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
local prev = redis.call('GET', KEYS[2])
redis.call('SET', KEYS[2], ARGV[1])
local fence = redis.call('INCR', KEYS[3])
local died = 0
if prev then died = 1 end
return { fence, died }`,
  ),

  /** KEYS: lock. ARGV: token, lease ms. → 1 renewed, 0 no longer ours. Twice: renews our own token's lease again, or finds it gone both times. */
  tkLockRenew: {
    keys: 1,
    lua: `if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0`,
  },

  /**
   * KEYS: lock, held. ARGV: token, channel. → 1 released, 2 our lease had run out but nobody took it, 0 another holder has it.
   * Twice: deletes only our own token, so it never frees another's lock; but the second run would
   * answer 0 ("another holder has it") for a release that worked; {@link once}.
   */
  tkLockRelease: once(
    2,
    `local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('DEL', KEYS[1], KEYS[2])
  redis.call('PUBLISH', ARGV[2], 'released')
  return 1
end
if not cur and redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('DEL', KEYS[2])
  redis.call('PUBLISH', ARGV[2], 'released')
  return 2
end
return 0`,
  ),

  // -- Semaphore -------------------------------------------------------------

  /**
   * KEYS: avail, holders, died. ARGV: token, lease ms, value, bounded, channel. → nil when no permit is free, else { 1, died (1/0) }.
   * Twice: would take a second permit under the same token (one permit gone for good); {@link once}.
   */
  tkSemAcquire: once(
    3,
    `${NOW}${REAP}local t = now()
redis.call('SET', KEYS[1], ARGV[3], 'NX')
if reap(t, tonumber(ARGV[3]), ARGV[4]) > 0 then redis.call('PUBLISH', ARGV[5], 'back') end
if tonumber(redis.call('GET', KEYS[1])) <= 0 then return false end
redis.call('DECR', KEYS[1])
redis.call('ZADD', KEYS[2], t + tonumber(ARGV[2]), ARGV[1])
local died = 0
if tonumber(redis.call('GET', KEYS[3]) or '0') > 0 then
  redis.call('DECR', KEYS[3])
  died = 1
end
return { 1, died }`,
  ),

  /**
   * KEYS: holders. ARGV: lease ms, token… → the tokens that are no longer held (their lease ran out and they were taken back).
   * Twice: ZADD XX renews only tokens still held, to a lease from now.
   */
  tkSemRenew: {
    keys: 1,
    lua: `${NOW}local t = now()
local lost = {}
for i = 2, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    redis.call('ZADD', KEYS[1], 'XX', t + tonumber(ARGV[1]), ARGV[i])
  else
    lost[#lost + 1] = ARGV[i]
  end
end
return lost`,
  },

  /**
   * KEYS: avail, holders, died. ARGV: n, value, bounded, channel, this handle's tokens to give up (at most n).
   * → { 1, permits free after } or { -1, permits free now } when a bounded one would pass its value.
   * Twice: would add the permits twice (a bounded one would refuse the second run, and that
   * refusal would be the answer); {@link once}.
   */
  tkSemRelease: once(
    3,
    `${NOW}${REAP}local t = now()
local value = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[2], 'NX')
reap(t, value, ARGV[3])
local n = tonumber(ARGV[1])
local avail = tonumber(redis.call('GET', KEYS[1]))
if ARGV[3] == '1' and avail + n > value then return { -1, avail } end
for i = 5, #ARGV do redis.call('ZREM', KEYS[2], ARGV[i]) end
avail = redis.call('INCRBY', KEYS[1], n)
redis.call('PUBLISH', ARGV[4], 'released')
return { 1, avail }`,
  ),

  /**
   * Gives back the permit of one acquisition, if it holds one: the undo of an acquire given up on
   * (its token is its own, so this never frees anyone else's permit). KEYS: avail, holders, died.
   * ARGV: token, died (1: the acquisition took a dead holder's permit, pass the news on), channel.
   * → 1 given back, 0 it held none.
   * Twice: the token is given back only while it is in the holders' set: the second run finds it
   * gone and does nothing.
   */
  tkSemGiveBack: {
    keys: 3,
    lua: `if redis.call('ZREM', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('INCR', KEYS[1])
if ARGV[2] == '1' then redis.call('INCR', KEYS[3]) end
redis.call('PUBLISH', ARGV[3], 'released')
return 1`,
  },

  /** KEYS: avail, holders, died. ARGV: value, bounded. → permits free now. Twice: reaping acts on what is true when it runs; a read otherwise. */
  tkSemValue: {
    keys: 3,
    lua: `${NOW}${REAP}redis.call('SET', KEYS[1], ARGV[1], 'NX')
reap(now(), tonumber(ARGV[1]), ARGV[2])
return tonumber(redis.call('GET', KEYS[1]))`,
  },

  // -- Event -----------------------------------------------------------------

  /**
   * KEYS: flag, sets. ARGV: channel.
   * Twice: sets the flag again; one more count of sets only wakes waiters again, who find it set.
   * (`clear()` is a plain DEL: twice is the same.)
   */
  tkEventSet: {
    keys: 2,
    lua: `redis.call('SET', KEYS[1], '1')
redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[1], 'set')
return 1`,
  },
} as const satisfies Record<string, Script>;

export type ScriptName = keyof typeof SCRIPTS;
