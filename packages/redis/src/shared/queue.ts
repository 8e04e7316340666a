/**
 * `RemoteQueue` and `RemoteJoinableQueue`: core's `Queue` and `JoinableQueue` across machines, a
 * reliable queue on plain Redis lists. Items are encoded with core's codec (Map, Date, BigInt,
 * typed arrays, errors survive). `get()` moves an item, in one script, from the queue's list into
 * a processing list of the consumer (this handle), whose lease key is renewed every lease/3 while
 * it lives; every handle takes the processing items of consumers whose lease ran out back to the
 * head of the queue (every lease/3, and when a wait wakes without a message). So an item whose
 * consumer died comes back: delivery is at least once, and exactly once while nobody dies. A
 * put, get, trim or taskDone that ioredis sends again after a lost reply runs once (numbered: see
 * `once` in scripts.ts).
 *
 * When an item leaves the processing list (is acknowledged):
 * - `RemoteJoinableQueue`: at `taskDone()` (the oldest item this handle got and did not mark
 *   done yet). Its items are tasks whose end the producer waits for: one not marked done is not done.
 * - `RemoteQueue`: when the same handle calls `get()` again, or disconnects. A consumer that asks
 *   for its next item has finished with the last one, so the item is safe through its whole
 *   handling, not only its delivery: a consumer killed while working on it gives it back. (Acking
 *   at once would lose every item whose consumer died while working on it.) One handle per
 *   concurrent consumer, then: two loops sharing a handle acknowledge each other's items.
 */
import { DataCloneError, QueueClosedError, QueueEmptyError, QueueFullError, TimeoutError } from '@threadkit/core';
import { Decoder, Encoder } from '@threadkit/core/codec';
import { describe } from '@threadkit/core/pool-kit';
import { RedisConnectionError } from '../errors.js';
import { checkWait, type Got, QUEUE_WAIT_KEYS, RemoteObject, type RemoteOptions, token, WAIT_KEYS, type Wait } from './base.js';
import type { ScriptClient } from './hub.js';

/** Options of `new RemoteQueue()`. */
export interface RemoteQueueOptions extends RemoteOptions {
  /** The most items it holds (not counting items being handled by consumers); `put` waits while it is full. 0: unbounded. @default 0 */
  readonly maxsize?: number;
}

/** Options of `put()` and `get()`, as core's `Queue`. */
export interface RemoteQueueWaitOptions {
  /** Milliseconds to wait at most; then `put` throws `QueueFullError`, `get` `QueueEmptyError`. @default forever */
  readonly timeout?: number;
  /** Aborting it rejects the wait with `AbortError`. */
  readonly signal?: AbortSignal;
  /** `false`: do not wait at all (Python's `block=False`). @default true */
  readonly block?: boolean;
}

/** Options of `join()`. */
export interface RemoteJoinOptions {
  /** Milliseconds to wait at most; then it throws `TimeoutError`. @default forever */
  readonly timeout?: number;
  /** Aborting it rejects the wait with `AbortError`. */
  readonly signal?: AbortSignal;
}

const encoder = new Encoder();
const decoder = new Decoder();

/**
 * Python's `multiprocessing.Queue(maxsize)` across machines: many producers and many consumers in
 * any processes on any machines that reach the same Redis. After `close()`, `put` throws
 * `QueueClosedError` and `get` drains what is left, then throws it too; `for await` ends there.
 * @example
 * await using q = new RemoteQueue<Job>('jobs', { connection: process.env.REDIS_URL, maxsize: 100 });
 * await q.put({ id: 1 });
 * for await (const job of q) handle(job);
 */
export class RemoteQueue<T = unknown> extends RemoteObject implements AsyncIterable<T> {
  /** The most items it holds (0: unbounded). */
  readonly maxsize: number;
  /** This handle's consumer id: its processing list and lease. */
  readonly #id = token();
  /** This handle has taken items (or tried to): it has a lease to renew. */
  #consumer = false;
  /** The items at the head of the processing list that are the caller's, as of the last command sent (see the top of this file). */
  #owned = 0;
  /** Get attempts sent so far (each numbers itself by it: a later one exists when this grew past its number). */
  #gets = 0;

  constructor(name: string, options?: RemoteQueueOptions) {
    super(new.target.name, 'q', name, options, ['maxsize']);
    const what = `Cannot create a ${new.target.name}`;
    const maxsize = this.options.maxsize ?? 0;
    if (typeof maxsize !== 'number' || !Number.isInteger(maxsize) || maxsize < 0 || maxsize > 0x7fffffff) {
      throw new (typeof maxsize === 'number' ? RangeError : TypeError)(
        `${what}: maxsize must be an integer >= 0 (0 is unbounded), the most items it holds, got ${describe(maxsize)}`,
      );
    }
    this.maxsize = maxsize;
  }

  /** Whether taskDone() acknowledges items (a joinable queue). */
  protected get joinable(): boolean {
    return false;
  }

  protected key(part: string): string {
    return `${this.prefix}${part}`;
  }

  /** This handle's processing list. */
  protected get processing(): string {
    return this.key(`proc:${this.#id}`);
  }

  protected override async setup(client: ScriptClient, what: string): Promise<void> {
    const kind = this.joinable ? 'joinable' : 'plain';
    await this.checkMeta(client, what, { kind, maxsize: String(this.maxsize) }, (field, theirs) =>
      field === 'kind'
        ? `it was created as a ${theirs === 'joinable' ? 'RemoteJoinableQueue' : 'RemoteQueue'} elsewhere; use the same class for every handle of ${JSON.stringify(this.name)}`
        : `it was created with maxsize ${theirs} elsewhere, and this handle says ${this.maxsize}; give every handle of ${JSON.stringify(this.name)} the same maxsize`,
    );
    this.every(Math.floor(this.lease / 3), async () => {
      if (this.#consumer) await client.tkQueueRenew(this.key(`lease:${this.#id}`), this.key('consumers'), this.#id, this.lease);
      await this.#recover(client);
    });
  }

  #recover(client: ScriptClient): Promise<unknown> {
    return client.tkQueueRecover(this.key('items'), this.key('consumers'), this.prefix, this.channel);
  }

  #encode(item: T): Buffer {
    const bytes = Buffer.from(encoder.encode(item, 'item'));
    if (encoder.takeShared().length > 0) {
      throw new DataCloneError(
        `Cannot put on ${this.label}: the item holds a SharedArrayBuffer, which cannot leave this machine; copy it into an ArrayBuffer (e.g. new Uint8Array(view))`,
        'item',
      );
    }
    return bytes;
  }

  /**
   * Puts an item, waiting while the queue is full. Throws `QueueFullError` when `timeout` ms pass
   * (or at once with `block: false`), `QueueClosedError` after `close()`, and `DataCloneError`
   * naming the part of the item that cannot be encoded.
   */
  async put(item: T, options?: RemoteQueueWaitOptions): Promise<void> {
    const what = `Cannot put on ${this.label}`;
    const wait = checkWait(what, options, QUEUE_WAIT_KEYS);
    const bytes = this.#encode(item);
    // Set when the wait ended on an unanswered attempt: that attempt may still put the item.
    let unknown = false;
    const got = await this.waitFor(
      what,
      wait,
      async (client, attempt) => {
        attempt.onGiveUp(() => {
          unknown = true;
        });
        // Numbered: a put re-sent after a lost reply must not put the item again.
        const n = await this.numbered((seqKey, seq, acked) =>
          client.tkQueuePut(
            this.key('items'),
            this.key('closed'),
            this.key('unfinished'),
            seqKey,
            bytes,
            this.maxsize,
            this.joinable ? 1 : 0,
            this.channel,
            seq,
            acked,
          ),
        );
        if (!attempt.claim()) return undefined;
        if (n === -1) throw new QueueClosedError(`${what}: it is closed`);
        return n === -2 ? undefined : { value: n };
      },
      (client) => this.#recover(client),
    ).catch((error: unknown) => {
      throw unknown ? this.#maybePut(what, error) : error;
    });
    if (!got && unknown) throw this.#maybePut(what, undefined);
    if (!got) throw new QueueFullError(`${what}: it is full (maxsize ${this.maxsize})${afterWaiting(wait)}`);
  }

  #maybePut(what: string, cause: unknown): RedisConnectionError {
    return new RedisConnectionError(
      `${what}: Redis did not answer before the wait ended${cause instanceof Error ? ` (${cause.message})` : ''}; the item may or may not have been put (the command runs if Redis comes back)`,
      'unreachable',
      { cause },
    );
  }

  /** Puts an item without waiting: throws `QueueFullError` when it is full. */
  putNowait(item: T): Promise<void> {
    return this.put(item, { block: false });
  }

  /**
   * Takes the first item, waiting while the queue is empty. Throws `QueueEmptyError` when
   * `timeout` ms pass (or at once with `block: false`), and `QueueClosedError` once it is closed and drained.
   */
  async get(options?: RemoteQueueWaitOptions): Promise<T> {
    const what = `Cannot get from ${this.label}`;
    const wait = checkWait(what, options, QUEUE_WAIT_KEYS);
    this.#consumer = true;
    const got: Got<T> | undefined = await this.waitFor(
      what,
      wait,
      async (client, attempt) => {
        // The caller is done with a plain queue's last item once it asks for the next: this
        // attempt acknowledges it, so no later command may count it as owned.
        const ack = this.joinable ? 0 : this.#owned;
        if (!this.joinable) this.#owned = 0;
        let given = false;
        attempt.onGiveUp(() => {
          given = true;
        });
        // Numbered: a get re-sent after a lost reply must not acknowledge nor take again.
        const sent = this.numbered((seqKey, seq, acked) =>
          client.tkQueueGetBuffer(
            this.key('items'),
            this.processing,
            this.key('closed'),
            this.key(`lease:${this.#id}`),
            this.key('consumers'),
            seqKey,
            this.#id,
            this.lease,
            ack,
            this.joinable ? this.#owned : 0,
            this.maxsize,
            this.channel,
            seq,
            acked,
          ),
        );
        const mine = ++this.#gets;
        const answer = await sent;
        if (!given && !attempt.claim()) given = true; // (the undo ran, inside claim's decision)
        if (given) {
          // Given up on: an item it moved is not the caller's. Give it back now, unless a get was
          // sent after this one: that get runs after it on Redis and gives the item back itself
          // (every get first moves back what is past the items its caller owns). Not "unless a get
          // is unanswered": a later get's answer may have arrived in the same tick as this one and
          // not been claimed yet; a give-back sent now would run after it and take back the item
          // it delivers (delivered twice).
          if (Buffer.isBuffer(answer) && this.#gets === mine) this.#trim(client);
          return undefined;
        }
        if (answer === -1) throw new QueueClosedError(`${what}: it is closed and empty`);
        if (answer === 0) return undefined;
        this.#owned++;
        return { value: decoder.decode(answer as Buffer) as T };
      },
      (client) => this.#recover(client),
    );
    if (!got) throw new QueueEmptyError(`${what}: it is empty${afterWaiting(wait)}`);
    return got.value;
  }

  /** Moves the items of given-up attempts back to the head of the queue (errors ignored: the next get or leave trims too). */
  #trim(client: ScriptClient): void {
    this.numbered((seqKey, seq, acked) =>
      client.tkQueueTrim(this.key('items'), this.processing, this.key(`lease:${this.#id}`), seqKey, this.#owned, this.channel, seq, acked),
    ).catch(() => {});
  }

  /** Takes the first item without waiting: throws `QueueEmptyError` when it is empty. */
  getNowait(): Promise<T> {
    return this.get({ block: false });
  }

  /** The number of items in it now, not counting items being handled by consumers (a snapshot, as in Python). */
  async qsize(): Promise<number> {
    return this.call(`Cannot read ${this.label}`, (client) => client.llen(this.key('items')));
  }

  /** Whether it is empty now (a snapshot). */
  async empty(): Promise<boolean> {
    return (await this.qsize()) === 0;
  }

  /** Whether it is full now (a snapshot). */
  async full(): Promise<boolean> {
    return this.maxsize > 0 && (await this.qsize()) >= this.maxsize;
  }

  /** Closes it for everyone: `put` throws from now on; `get` drains what is left, then throws `QueueClosedError`. This handle stays usable; {@link disconnect} lets go of it. */
  async close(): Promise<void> {
    await this.call(`Cannot close ${this.label}`, (client) => client.tkQueueClose(this.key('closed'), this.channel));
  }

  /** Whether it is closed. */
  async closed(): Promise<boolean> {
    return (await this.call(`Cannot read ${this.label}`, (client) => client.exists(this.key('closed')))) === 1;
  }

  /** Yields items until the queue is closed and drained. */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      try {
        yield await this.get();
      } catch (error) {
        if (error instanceof QueueClosedError) return;
        throw error;
      }
    }
  }

  /** A consumer leaving: a plain queue's last item is done; a joinable queue's items not marked done, and those of given-up attempts, go back to the head of the queue. */
  protected override async teardown(client: ScriptClient): Promise<void> {
    if (!this.#consumer) return;
    const ack = this.joinable ? 0 : this.#owned;
    this.#owned = 0;
    await client.tkQueueLeave(this.key('items'), this.processing, this.key(`lease:${this.#id}`), this.key('consumers'), this.#id, ack, this.channel);
  }

  /** Counts one owned item as done (a joinable queue's taskDone, sent in order with the gets); false when it owns none. */
  protected doneOne(): boolean {
    if (this.#owned === 0) return false;
    this.#owned--;
    return true;
  }
}

function afterWaiting(wait: Wait): string {
  return wait.blocking && wait.timeout ? ` after waiting ${wait.timeout} ms` : '';
}

/**
 * Python's `JoinableQueue` across machines: every `put` counts an unfinished task; consumers call
 * `taskDone()` for each item they finish (on the handle that got it), and `join()` waits until all
 * are done. An item leaves its consumer's processing list at `taskDone()`: until then a consumer's
 * death gives it back to the queue.
 */
export class RemoteJoinableQueue<T = unknown> extends RemoteQueue<T> {
  protected override get joinable(): boolean {
    return true;
  }

  /**
   * Marks one item as done (the oldest this handle got and did not mark done yet). Throws
   * `RangeError` when called more times than this handle got items. An item whose lease ran out
   * before (its consumer seemed dead) was taken back: it is delivered again, and counted done by
   * whoever gets it next, so this call then counts nothing.
   */
  async taskDone(): Promise<void> {
    const what = `Cannot call taskDone() on ${this.label}`;
    if (!this.doneOne()) throw new RangeError(`${what}: it was called more times than this handle got items`);
    // Bounded by connectTimeout; a taskDone that Redis did not answer still runs when it is back.
    await this.call(what, (client) =>
      this.numbered((seqKey, seq, acked) => client.tkQueueTaskDone(this.key('unfinished'), this.processing, seqKey, this.channel, seq, acked)),
    );
  }

  /** Waits until every item put has been marked done. Throws `TimeoutError` when `timeout` ms pass first. */
  async join(options?: RemoteJoinOptions): Promise<void> {
    const what = `Cannot join ${this.label}`;
    const wait = checkWait(what, options, WAIT_KEYS);
    let left = 0;
    const got = await this.waitFor(what, wait, async (client) => {
      left = Number((await client.get(this.key('unfinished'))) ?? 0);
      return left <= 0 ? { value: true } : undefined;
    });
    if (!got) throw new TimeoutError(`${what}: ${left} items are still unfinished after ${wait.timeout} ms (as last read)`);
  }
}
