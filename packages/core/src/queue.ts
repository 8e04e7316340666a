/**
 * `Queue`, `JoinableQueue` and `SimpleQueue`: Python's multi-producer, multi-consumer FIFO
 * queues, shareable with any mix of threads and processes by passing them in `args`.
 */
import { explainCloneError, isCloneFailure } from './clone.js';
import { DataCloneError, QueueClosedError, QueueEmptyError, QueueFullError, ThreadkitError, TimeoutError } from './errors.js';
import { deadlineOf, notify, wait, type AbortSignalLike } from './futex.js';

import {
  ALL_DONE,
  CLOSED_EMPTY,
  COUNT,
  DEFAULT_QUEUE_BYTES,
  EMPTY,
  GET_WAITERS,
  HEADER_WORDS,
  ITEMS,
  MAXSIZE,
  Outbox,
  Ring,
  SLOTS,
  SPACE,
  UNFINISHED,
  encodeItem,
  waitForItems,
  waitForRoom,
} from './ring.js';
import { publishAll } from './publish.js';
import { isOrigin, registerShared, sendable, SharedObject, throwIfAborted, withSignal, type Origin, type WaitOptions } from './shared.js';
import { realmTag } from './tags.js';
import { checkOptionNames, checkWaitOptions, describe, QUEUE_WAIT_KEYS, WAIT_KEYS } from './validate.js';

/** Options of `new Queue()`. */
export interface QueueOptions {
  /** The most items it holds; `put` waits while it is full. 0 or absent: unbounded (up to `bytes`). @default 0 */
  readonly maxsize?: number;
  /** Bytes of shared memory for encoded items (each takes its encoded size plus 8–15 bytes); an item must fit. @default 1048960 (16 items of 64 KiB) */
  readonly bytes?: number;
}

/** Options of `put()` and `get()`. */
export interface QueueWaitOptions extends WaitOptions {
  /** `false`: do not wait at all (Python's `block=False`). @default true */
  readonly block?: boolean;
}

const DONE = Promise.resolve();

function checkQueueOptions(what: string, options: unknown, keys: readonly string[]): { maxsize: number; bytes: number } {
  const o = typeof options === 'number' && keys.includes('maxsize') ? { maxsize: options } : options === undefined ? {} : options;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) {
    throw new TypeError(`${what}: options must be { ${keys.join(', ')} }${keys.includes('maxsize') ? ' or a maxsize' : ''}, got ${describe(options)}`);
  }
  if (!keys.includes('maxsize') && 'maxsize' in o) {
    throw new TypeError(`${what}: a SimpleQueue is unbounded and takes no maxsize; use a Queue({ maxsize }) for a bounded one`);
  }
  checkOptionNames(what, o, keys);
  const { maxsize = 0, bytes = DEFAULT_QUEUE_BYTES } = o as QueueOptions;
  if (typeof maxsize !== 'number' || !Number.isInteger(maxsize) || maxsize < 0 || maxsize > 0x7fffffff) {
    throw new (typeof maxsize === 'number' ? RangeError : TypeError)(`${what}: maxsize must be an integer >= 0 (0 is unbounded), got ${describe(maxsize)}`);
  }
  if (typeof bytes !== 'number' || !Number.isInteger(bytes) || bytes < 64 || bytes > 2 ** 30) {
    throw new (typeof bytes === 'number' ? RangeError : TypeError)(`${what}: bytes must be an integer from 64 to 2^30, got ${describe(bytes)}`);
  }
  return { maxsize, bytes };
}

/**
 * Python's `multiprocessing.Queue(maxsize)`: many producers and many consumers, in any threads
 * and processes. After `close()`, `put` throws `QueueClosedError` and `get` drains what is left,
 * then throws it too; `for await` ends there.
 * @example
 * const q = new Queue<string>({ maxsize: 3 });
 * await q.put('hello'); console.log(await q.get());
 */
export class Queue<T = unknown> extends SharedObject implements AsyncIterable<T> {
  readonly #ring: Ring | undefined;
  /** This realm's items put and not yet published. */
  readonly #outbox: Outbox | undefined;
  /** A proxy's last known size (a proxy cannot read the owner's memory). */
  #knownSize = 0;

  constructor(options?: QueueOptions | number);
  /** @internal A revived copy. */
  constructor(options: QueueOptions | number | undefined | Origin);
  constructor(options?: QueueOptions | number | Origin) {
    const revived = isOrigin(options);
    const config = revived
      ? undefined
      : checkQueueOptions(
          `Cannot create ${new.target.name}`,
          options,
          new.target === SimpleQueue || new.target.prototype instanceof SimpleQueue ? ['bytes'] : ['maxsize', 'bytes'],
        );
    super(revived ? options : { kind: 'new', words: HEADER_WORDS, bytes: Ring.bufferSize(config!.bytes) - HEADER_WORDS * 4 });
    if (this.buffer) {
      this.#ring = new Ring(this.buffer, 0, config && { bytes: config.bytes, maxsize: config.maxsize });
      // A put that reserves (a bounded or joinable queue) is tracked per producing thread until
      // published, so a thread's death gives back what its lost puts reserved.
      const reserves = Atomics.load(this.#ring.mem, MAXSIZE) > 0 || this instanceof JoinableQueue;
      this.#outbox = new Outbox(this.#ring, reserves ? realmTag() : undefined);
    }
  }

  protected get typeName(): string {
    return 'Queue';
  }

  /** The most items it holds (0: unbounded). */
  get maxsize(): number {
    if (!this.#ring) throw this.noSyncOnProxy('maxsize', 'pass the number along with the queue');
    return Atomics.load(this.#ring.mem, MAXSIZE);
  }

  /**
   * Puts an item, waiting while the queue is full. Throws `QueueFullError` when `timeout` ms pass
   * (or at once with `block: false`), `QueueClosedError` after `close()`, and `DataCloneError`
   * naming the part of the item that cannot be sent.
   */
  put(item: T, options?: QueueWaitOptions): Promise<void> {
    // The fast path, without an async frame: there is room.
    if (this.#ring && options === undefined) {
      try {
        if (this.#tryPut(item) === 'ok') return DONE;
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return this.#put(item, options);
  }

  /** Encodes the item, reserves a slot and adds it to this realm's outbox; or says why not. */
  #tryPut(item: T): 'ok' | 'full' | 'closed' {
    const ring = this.#ring!;
    const outbox = this.#outbox!;
    if (this.#closing) return 'closed';
    const n = outbox.encode(item, 'item');
    // Unbounded queues still bound what one realm holds back: a ring's worth.
    if (outbox.bytes > ring.capacity) return 'full';
    const result = ring.reserve(this instanceof JoinableQueue);
    if (result === 'ok') outbox.add(n);
    return result;
  }

  async #put(item: T, options: QueueWaitOptions | undefined): Promise<void> {
    const ring = this.#ring;
    const what = `Cannot put on ${this.constructor.name}`;
    const o = checkWaitOptions(what, options, QUEUE_WAIT_KEYS);
    if (this.remote) {
      try {
        this.#knownSize = (await this.call('put', [item, sendable(options)], o.signal)) as number;
      } catch (error) {
        // The item could not be sent to the queue's owner (another process): say what part of it.
        if (isCloneFailure(error) && !(error instanceof DataCloneError)) throw explainCloneError(what, item, 'item', error, 'process');
        throw error;
      }
      return;
    }
    const mem = ring!.mem;
    const left = deadlineOf(o.timeout);
    for (;;) {
      const space = Atomics.load(mem, SPACE);
      const result = this.#tryPut(item);
      if (result === 'ok') return;
      if (result === 'closed') throw new QueueClosedError(`${what}: it is closed`);
      throwIfAborted(what, o.signal);
      const ms = left();
      if (!o.blocking || ms === 0) {
        throw new QueueFullError(
          `${what}: it is full (${ring!.slots} items${Atomics.load(mem, MAXSIZE) ? ` of maxsize ${Atomics.load(mem, MAXSIZE)}` : ', no room left in its bytes'})${ms === 0 && o.timeout ? ` after waiting ${o.timeout} ms` : ''}`,
        );
      }
      await waitForRoom(mem, space, ms, o.signal);
    }
  }

  /** Puts an item without waiting: throws `QueueFullError` when it is full. */
  putNowait(item: T): void {
    if (this.remote) throw this.noSyncOnProxy('putNowait', 'use await queue.put(item, { block: false })');
    const result = this.#tryPut(item);
    if (result === 'closed') throw new QueueClosedError(`Cannot put on ${this.constructor.name}: it is closed`);
    if (result === 'full') throw new QueueFullError(`Cannot put on ${this.constructor.name}: it is full`);
  }

  /**
   * Takes the first item, waiting while the queue is empty. Throws `QueueEmptyError` when
   * `timeout` ms pass (or at once with `block: false`), and `QueueClosedError` once it is closed and drained.
   */
  get(options?: QueueWaitOptions): Promise<T> {
    // The fast path, without an async frame: an item is there.
    const ring = this.#ring;
    if (ring && options === undefined) {
      try {
        publishAll();
        const got = ring.get(true);
        if (got !== EMPTY && got !== CLOSED_EMPTY) return Promise.resolve(got as T);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return this.#get(options);
  }

  async #get(options: QueueWaitOptions | undefined): Promise<T> {
    const what = `Cannot get from ${this.constructor.name}`;
    const ring = this.#ring;
    const o = checkWaitOptions(what, options, QUEUE_WAIT_KEYS);
    if (this.remote) {
      const [value, size] = (await this.call('get', [sendable(options)], o.signal)) as [T, number];
      this.#knownSize = size;
      return value;
    }
    const mem = ring!.mem;
    const left = deadlineOf(o.timeout);
    for (;;) {
      publishAll();
      const items = Atomics.load(mem, ITEMS);
      const got = ring!.get(true);
      if (got === CLOSED_EMPTY) throw new QueueClosedError(`${what}: it is closed and empty`);
      if (got !== EMPTY) return got as T;
      throwIfAborted(what, o.signal);
      const ms = left();
      if (!o.blocking || ms === 0) {
        this.#handOn();
        throw new QueueEmptyError(`${what}: it is empty${ms === 0 && o.timeout ? ` after waiting ${o.timeout} ms` : ''}`);
      }
      await waitForItems(mem, items, ms, o.signal);
      if (o.signal?.aborted) {
        this.#handOn();
        throwIfAborted(what, o.signal);
      }
    }
  }

  /** A consumer leaving empty-handed passes on a wake-up it may have taken. */
  #handOn(): void {
    const mem = this.#ring!.mem;
    if (Atomics.load(mem, COUNT) > 0 && Atomics.load(mem, GET_WAITERS) > 0) notify(mem, ITEMS, 1);
  }

  /** Takes the first item without waiting: throws `QueueEmptyError` when it is empty. */
  getNowait(): T {
    if (this.remote) throw this.noSyncOnProxy('getNowait', 'use await queue.get({ block: false })');
    publishAll();
    const got = this.#ring!.get(true);
    if (got === CLOSED_EMPTY) throw new QueueClosedError(`Cannot get from ${this.constructor.name}: it is closed and empty`);
    if (got !== EMPTY) return got as T;
    throw new QueueEmptyError(`Cannot get from ${this.constructor.name}: it is empty`);
  }

  /** The number of items in it now (on a proxy in another process: as of this realm's last put or get). */
  qsize(): number {
    if (!this.#ring) return this.#knownSize;
    // An unbounded queue counts this realm's unpublished items itself; a bounded one counted them at put.
    return this.#ring.slots + (Atomics.load(this.#ring.mem, MAXSIZE) === 0 ? this.#outbox!.length : 0);
  }

  /** Whether it is empty now (a snapshot, as in Python). */
  empty(): boolean {
    return this.qsize() === 0;
  }

  /** Whether it is full now (a snapshot, as in Python). */
  full(): boolean {
    if (!this.#ring) throw this.noSyncOnProxy('full', 'use await queue.put(item, { block: false }) and catch QueueFullError');
    const maxsize = Atomics.load(this.#ring.mem, MAXSIZE);
    return maxsize > 0 && this.#ring.slots >= maxsize;
  }

  /** Whether it is closed. */
  get closed(): boolean {
    if (!this.#ring) throw this.noSyncOnProxy('closed', 'get() throws QueueClosedError once it is closed and drained');
    return this.#closing || this.#ring.closed;
  }

  /** Closes it for everyone: `put` throws from now on; `get` drains what is left, then throws `QueueClosedError`. */
  close(): void {
    if (this.remote) {
      this.fire('close', []);
      return;
    }
    // What this thread put before close() still goes in: the queue closes once it is published.
    this.#closing = true;
    publishAll();
    const ring = this.#ring!;
    this.#outbox!.whenDrained(() => ring.close());
  }

  /** close() was called here (the ring closes once this thread's puts are published). */
  #closing = false;

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

  /** Gives back an item whose delivery to a dead process was never acknowledged. */
  _handsOver(method: string): boolean {
    return method === 'get';
  }

  /**
   * The thread `who` ended: what its puts reserved and it never published (they died with it)
   * is given back: a bounded queue's slots, a joinable queue's unfinished count.
   */
  override _releaseIfHeldBy(who: number): boolean {
    const ring = this.#ring;
    if (!ring || who <= 0) return false;
    const lost = ring.releaseProducer(who);
    if (lost === 0) return false;
    const mem = ring.mem;
    if (Atomics.load(mem, MAXSIZE) > 0) {
      Atomics.sub(mem, SLOTS, lost);
      Atomics.add(mem, SPACE, 1);
      notify(mem, SPACE);
    }
    if (this instanceof JoinableQueue && Atomics.sub(mem, UNFINISHED, lost) === lost) {
      Atomics.add(mem, ALL_DONE, 1);
      notify(mem, ALL_DONE);
    }
    return true;
  }

  _giveBack(method: string, value: unknown): void {
    if (method !== 'get' || !this.#ring || !Array.isArray(value)) return;
    const [item] = value as [T, number];
    if (Atomics.load(this.#ring.mem, MAXSIZE) > 0) Atomics.add(this.#ring.mem, SLOTS, 1);
    this.#ring.put(encodeItem(item, 'item'), true);
  }

  _serve(method: string, args: readonly unknown[], _who: number, signal: AbortSignalLike): unknown {
    switch (method) {
      case 'put':
        return this.put(args[0] as T, withSignal(args[1], signal)).then(() => this.qsize());
      case 'get':
        return this.get(withSignal(args[0], signal)).then((value) => [value, this.qsize()]);
      case 'close':
        return this.close();
      default:
        return this._serveMore(method, args, signal);
    }
  }

  /** Remote methods of subclasses. */
  protected _serveMore(method: string, _args: readonly unknown[], _signal: AbortSignalLike): unknown {
    throw new ThreadkitError(`${this.constructor.name} has no remote method ${method}`);
  }

  /** The ring, for subclasses. */
  protected get ring(): Ring | undefined {
    return this.#ring;
  }
}

/**
 * Python's `JoinableQueue`: every `put` counts an unfinished task; consumers call `taskDone()`
 * for each item they finish, and `join()` waits until all are done.
 */
export class JoinableQueue<T = unknown> extends Queue<T> {
  protected override get typeName(): string {
    return 'JoinableQueue';
  }

  /** Marks one item as done. Throws when called more times than items were put. */
  taskDone(): void {
    if (this.remote) {
      this.fire('taskDone', []);
      return;
    }
    publishAll();
    const mem = this.ring!.mem;
    for (;;) {
      const n = Atomics.load(mem, UNFINISHED);
      if (n <= 0) throw new RangeError('Cannot call taskDone(): it was called more times than there were items put');
      if (Atomics.compareExchange(mem, UNFINISHED, n, n - 1) === n) {
        if (n === 1) {
          Atomics.add(mem, ALL_DONE, 1);
          notify(mem, ALL_DONE);
        }
        return;
      }
    }
  }

  /** Waits until every item put has been marked done. Throws `TimeoutError` when `timeout` ms pass first. */
  async join(options?: WaitOptions): Promise<void> {
    const what = 'Cannot join JoinableQueue';
    const o = checkWaitOptions(what, options, WAIT_KEYS);
    if (this.remote) {
      await this.call('join', [sendable(options)], o.signal);
      return;
    }
    const mem = this.ring!.mem;
    const left = deadlineOf(o.timeout);
    for (;;) {
      const seq = Atomics.load(mem, ALL_DONE);
      if (Atomics.load(mem, UNFINISHED) === 0) return;
      throwIfAborted(what, o.signal);
      const ms = left();
      if (ms === 0) throw new TimeoutError(`${what}: ${Atomics.load(mem, UNFINISHED)} items are still unfinished after ${o.timeout} ms`);
      await wait(mem, ALL_DONE, seq, ms, o.signal);
    }
  }

  protected override _serveMore(method: string, args: readonly unknown[], signal: AbortSignalLike): unknown {
    if (method === 'taskDone') return this.taskDone();
    if (method === 'join') return this.join(withSignal(args[0], signal));
    return super._serveMore(method, args, signal);
  }
}

/** Python's `SimpleQueue`: an unbounded queue with just `put`, `get`, `empty` and `close`. */
export class SimpleQueue<T = unknown> extends Queue<T> {
  constructor(options?: Omit<QueueOptions, 'maxsize'>);
  /** @internal A revived copy. */
  constructor(options?: Omit<QueueOptions, 'maxsize'> | Origin);
  constructor(options?: Omit<QueueOptions, 'maxsize'> | Origin) {
    super(options);
  }

  protected override get typeName(): string {
    return 'SimpleQueue';
  }
}

registerShared('Queue', (origin) => new Queue(origin));
registerShared('JoinableQueue', (origin) => new JoinableQueue(origin));
registerShared('SimpleQueue', (origin) => new SimpleQueue(origin));
