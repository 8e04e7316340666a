/**
 * Redis going away while waits are on: paused with SIGSTOP (commands sent stay unread in its
 * socket and run at SIGCONT) and killed then restarted without persistence. Every wait ends with
 * its timeout, its signal or a named error, never hangs; commands given up on that run late are
 * undone (an item goes back to the queue, a lock or a permit is freed); the objects work after.
 * Bounds are generous (a loaded 2-core machine): "ended", not "ended within a tight time".
 */
import { AbortError, QueueEmptyError, QueueFullError } from '@threadkit/core';
import { type RedisConnectionError, RemoteEvent, RemoteJoinableQueue, RemoteLock, RemoteQueue, RemoteSemaphore } from '@threadkit/redis';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedis } from './redis-server.js';
import { unique } from './shared-helpers.js';

const ENDED = 5_000;
let redis: RedisServer;
let raw: Redis;
let paused = false;
const open: { disconnect(): Promise<void> }[] = [];

beforeAll(async () => {
  redis = await startRedis();
  raw = new Redis(redis.url, { maxRetriesPerRequest: null });
  raw.on('error', () => {}); // refused while Redis is killed; it reconnects
});
afterEach(() => {
  if (paused) resume();
});
afterAll(async () => {
  if (paused) resume();
  await Promise.all(open.map((o) => o.disconnect()));
  raw.disconnect();
  await redis.stop();
});

function track<T extends { disconnect(): Promise<void> }>(o: T): T {
  open.push(o);
  return o;
}
function pause(): void {
  redis.signal('SIGSTOP');
  paused = true;
}
function resume(): void {
  redis.signal('SIGCONT');
  paused = false;
}

/** How long `p` takes to settle, and how (never more than `ms`: then the test fails, not hangs). */
async function timed<T>(p: Promise<T>, ms = ENDED): Promise<{ ms: number; value?: T; error?: unknown }> {
  const t0 = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms: a hang`)), ms);
  });
  try {
    const value = await Promise.race([p, hang]);
    return { ms: performance.now() - t0, value };
  } catch (error) {
    if (error instanceof Error && error.message.includes('a hang')) throw error;
    return { ms: performance.now() - t0, error };
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `check` until it holds (Redis is back and late commands were undone), failing after `ms`. */
async function eventually(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`not so within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const items = (name: string): Promise<Buffer[]> => raw.lrangeBuffer(`threadkit:q:{${name}}:items`, 0, -1);
const procs = async (name: string): Promise<number> => {
  let n = 0;
  for (const key of await raw.keys(`threadkit:q:{${name}}:proc:*`)) n += await raw.llen(key);
  return n;
};

describe('Redis paused (SIGSTOP) while waits are on', () => {
  it('get, acquire, event wait and put on a full queue end by their timeouts; afterwards every item is there once and the lock is free', async () => {
    const qn = unique('q');
    const q = track(new RemoteQueue<number>(qn, { connection: redis.url, maxsize: 3 }));
    const empty = track(new RemoteQueue<number>(unique('q'), { connection: redis.url }));
    const lock = track(new RemoteLock(unique('lock'), { connection: redis.url }));
    const other = track(new RemoteLock(lock.name, { connection: redis.url }));
    const event = track(new RemoteEvent(unique('event'), { connection: redis.url }));
    for (let i = 1; i <= 3; i++) await q.put(i);
    expect(await other.acquire()).toBe(true);
    // Handshakes first: every handle has connected and subscribed before the pause.
    await expect(empty.get({ timeout: 50 })).rejects.toThrow(QueueEmptyError);
    await expect(q.put(9, { timeout: 50 })).rejects.toThrow(QueueFullError);
    expect(await lock.acquire({ timeout: 50 })).toBe(false);
    expect(await event.wait(50)).toBe(false);

    const getting = timed(empty.get({ timeout: 300 }));
    const acquiring = timed(lock.acquire({ timeout: 300 }));
    const waiting = timed(event.wait(300));
    const putting = timed(q.put(4, { timeout: 300 }));
    await new Promise((r) => setTimeout(r, 100));
    pause();
    const get = await getting;
    const acquire = await acquiring;
    const wait = await waiting;
    const put = await putting;
    expect(get.error).toBeInstanceOf(QueueEmptyError);
    expect(acquire.value).toBe(false);
    expect(wait.value).toBe(false);
    // QueueFullError when no attempt of it was in flight; else its outcome is unknown, and says so.
    expect(put.error instanceof QueueFullError || (put.error as RedisConnectionError)?.reason === 'unreachable').toBe(true);
    resume();

    // The queue was full all along: the 3 items, once each, nothing more.
    await eventually(async () => (await items(qn)).length === 3 && (await procs(qn)) === 0);
    expect(await q.qsize()).toBe(3);
    const seen = [await q.get({ timeout: 2_000 }), await q.get({ timeout: 2_000 }), await q.get({ timeout: 2_000 })];
    expect(seen.sort()).toEqual([1, 2, 3]);
    await other.release();
    expect(await lock.acquire({ timeout: 2_000 })).toBe(true);
    await lock.release();
  });

  it('a get sent while Redis is paused gives up at its timeout; the item it takes when Redis is back returns to the head of the queue, once', async () => {
    const name = unique('q');
    const q = track(new RemoteQueue<number>(name, { connection: redis.url }));
    const jq = track(new RemoteJoinableQueue<number>(unique('jq'), { connection: redis.url }));
    for (let i = 1; i <= 3; i++) await q.put(i);
    await jq.put(1);
    await jq.put(2);
    expect(await q.get({ timeout: 1_000 })).toBe(1); // the caller owns 1 until its next get
    expect(await jq.get({ timeout: 1_000 })).toBe(1); // owned until taskDone
    pause();
    const got = await timed(q.get({ timeout: 300 }));
    const jgot = await timed(jq.get({ timeout: 300 }));
    expect(got.error).toBeInstanceOf(QueueEmptyError);
    expect(jgot.error).toBeInstanceOf(QueueEmptyError);
    resume();
    // The late get ran: it acknowledged 1 (the caller had asked for the next) and took 2, which
    // comes back to the head; the joinable queue's late item comes back, 1 stays owned.
    await eventually(async () => (await procs(name)) === 0 && (await items(name)).length === 2);
    expect(await q.get({ timeout: 2_000 })).toBe(2);
    expect(await q.get({ timeout: 2_000 })).toBe(3);
    await expect(q.getNowait()).rejects.toThrow(QueueEmptyError);
    expect(await jq.get({ timeout: 2_000 })).toBe(2);
    await jq.taskDone();
    await jq.taskDone();
    await jq.join({ timeout: 2_000 });
    await expect(jq.getNowait()).rejects.toThrow(QueueEmptyError);
  });

  it('a get given up during a pause, then the next get sent before Redis is back: both answers arrive together, and the next get keeps its item (delivered once)', async () => {
    // Both commands wait unread in Redis's socket; at SIGCONT it runs both and writes both replies
    // in one go, so this process settles both in one tick. The late get must not give back the
    // item the next get (sent after it, and run after it) took and delivered.
    const name = unique('q');
    const jname = unique('jq');
    const q = track(new RemoteQueue<number>(name, { connection: redis.url }));
    const jq = track(new RemoteJoinableQueue<number>(jname, { connection: redis.url }));
    for (let i = 1; i <= 3; i++) await q.put(i);
    for (let i = 1; i <= 3; i++) await jq.put(i);
    pause();
    expect((await timed(q.get({ timeout: 300 }))).error).toBeInstanceOf(QueueEmptyError);
    expect((await timed(jq.get({ timeout: 300 }))).error).toBeInstanceOf(QueueEmptyError);
    const next = q.get({ timeout: 4_000 });
    const jnext = jq.get({ timeout: 4_000 });
    await new Promise((r) => setTimeout(r, 50)); // both sent, unread
    resume();
    expect(await next).toBe(1);
    expect(await jnext).toBe(1);
    // Give a wrongly sent give-back time to run, then count: each caller owns its item once.
    await new Promise((r) => setTimeout(r, 300));
    expect(await procs(name)).toBe(1);
    expect(await items(name)).toHaveLength(2);
    expect(await procs(jname)).toBe(1);
    expect(await items(jname)).toHaveLength(2);
    expect(await q.get({ timeout: 2_000 })).toBe(2);
    expect(await q.get({ timeout: 2_000 })).toBe(3);
    await expect(q.getNowait()).rejects.toThrow(QueueEmptyError);
    await jq.taskDone();
    expect(await jq.get({ timeout: 2_000 })).toBe(2);
    await jq.taskDone();
    expect(await jq.get({ timeout: 2_000 })).toBe(3);
    await jq.taskDone();
    await jq.join({ timeout: 2_000 });
    await expect(jq.getNowait()).rejects.toThrow(QueueEmptyError);
  });

  it('an acquire sent while Redis is paused gives up at its timeout; the lock or permit it takes when Redis is back is freed', async () => {
    const lock = track(new RemoteLock(unique('lock'), { connection: redis.url }));
    const sem = track(new RemoteSemaphore(unique('sem'), 1, { connection: redis.url }));
    expect(await lock.locked()).toBe(false);
    expect(await sem.value()).toBe(1);
    pause();
    expect((await timed(lock.acquire({ timeout: 300 }))).value).toBe(false);
    expect((await timed(sem.acquire({ timeout: 300 }))).value).toBe(false);
    resume();
    const lock2 = track(new RemoteLock(lock.name, { connection: redis.url }));
    expect(await lock2.acquire({ timeout: 5_000 })).toBe(true);
    expect(lock2.ownerDied).toBe(false);
    await lock2.release();
    await eventually(async () => (await sem.value()) === 1);
    expect(await sem.acquire({ blocking: false })).toBe(true);
    await sem.release();
  });

  it('an aborted signal ends a wait at once during the pause; calls without a timeout fail after connectTimeout', async () => {
    const q = track(new RemoteQueue<number>(unique('q'), { connection: redis.url, connectTimeout: 500 }));
    const lock = track(new RemoteLock(unique('lock'), { connection: redis.url, connectTimeout: 500 }));
    await q.put(1);
    expect(await lock.acquire()).toBe(true);
    pause();
    const ac = new AbortController();
    const waits = [timed(q.get({ signal: ac.signal })), timed(track(new RemoteLock(lock.name, { connection: redis.url })).acquire({ signal: ac.signal }))];
    await new Promise((r) => setTimeout(r, 200));
    const t0 = performance.now();
    ac.abort();
    for (const w of await Promise.all(waits)) expect(w.error).toBeInstanceOf(AbortError);
    expect(performance.now() - t0).toBeLessThan(1_000);
    const size = await timed(q.qsize());
    expect(size.error).toMatchObject({ name: 'RedisConnectionError', reason: 'unreachable' });
    expect((await timed(q.getNowait())).error).toMatchObject({ name: 'RedisConnectionError', reason: 'unreachable' });
    const release = await timed(lock.release());
    expect(release.error).toMatchObject({ name: 'RedisConnectionError', reason: 'unreachable' });
    expect(lock.held).toBe(false);
    resume();
    // The late release freed the lock; the late get's item came back.
    await eventually(async () => !(await lock.locked()));
    await eventually(async () => (await q.qsize()) === 1);
    expect(await q.get({ timeout: 2_000 })).toBe(1);
  });
});

describe('Redis killed and restarted (no persistence) while waits are pending', () => {
  it('waits end with their timeout or a named error, never hang; the objects work after the restart', async () => {
    const q = track(new RemoteQueue<number>(unique('q'), { connection: redis.url, maxsize: 1, connectTimeout: 1_000 }));
    const lock = track(new RemoteLock(unique('lock'), { connection: redis.url, connectTimeout: 1_000 }));
    const event = track(new RemoteEvent(unique('event'), { connection: redis.url, connectTimeout: 1_000 }));
    const sem = track(new RemoteSemaphore(unique('sem'), 1, { connection: redis.url, connectTimeout: 1_000 }));
    await q.put(1);
    expect(await sem.acquire()).toBe(true);
    const holder = track(new RemoteLock(lock.name, { connection: redis.url }));
    expect(await holder.acquire()).toBe(true);
    const waits = [timed(q.put(2, { timeout: 800 })), timed(lock.acquire({ timeout: 800 })), timed(event.wait(800)), timed(sem.acquire({ timeout: 800 }))];
    await new Promise((r) => setTimeout(r, 100));
    await redis.kill();
    for (const w of await Promise.all(waits)) {
      const e = w.error as { name?: string } | undefined;
      expect(e === undefined || e instanceof QueueFullError || e.name === 'RedisConnectionError').toBe(true);
      if (e === undefined) expect(w.value).toBe(false);
    }
    // Calls during the outage end too.
    expect((await timed(q.qsize())).error).toMatchObject({ name: 'RedisConnectionError', reason: 'unreachable' });
    expect((await timed(event.wait(300))).value).toBe(false);
    await redis.start();
    // Everything was lost with the data; the objects work again on the same handles.
    await eventually(async () => (await q.qsize().catch(() => -1)) === 0);
    await q.put(5, { timeout: 5_000 });
    expect(await q.get({ timeout: 5_000 })).toBe(5);
    expect(await lock.acquire({ timeout: 5_000 })).toBe(true);
    await lock.release();
    await event.set();
    expect(await event.wait(5_000)).toBe(true);
    expect(await sem.acquire({ timeout: 5_000 })).toBe(true);
  });
});
