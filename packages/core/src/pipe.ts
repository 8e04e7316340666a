/**
 * `Pipe`: Python's `multiprocessing.Pipe(duplex)`, two `Connection` ends over two rings in one
 * block of memory. Ends travel to threads and processes as ordinary `args`.
 */
import { EOFError, InvalidStateError, ThreadkitError, TimeoutError, UnsupportedError } from './errors.js';
import { deadlineOf, type AbortSignalLike } from './futex.js';
import type { MarshalContext } from './handle.js';

import { CLOSED_EMPTY, DEFAULT_RING_BYTES, EMPTY, ITEMS, Ring, SPACE, copyEncoded, encodeItem, waitForItems, waitForRoom } from './ring.js';
import { isOrigin, registerShared, sendable, SharedObject, throwIfAborted, withSignal, type Origin, type WaitOptions } from './shared.js';
import { checkInteger, checkOptionsObject, checkWaitOptions, describe, WAIT_KEYS } from './validate.js';
import { addPending, publishAll, type Publisher } from './publish.js';

/** Options of `Pipe()`. */
export interface PipeOptions {
  /** Both ends send and receive; with `false` the first end only receives and the second only sends. @default true */
  readonly duplex?: boolean;
  /** Bytes of memory per direction; a message must fit. @default 262240 (4 messages of 64 KiB) */
  readonly bytes?: number;
}

// The pipe's own words, before its two rings.
const DUPLEX = 0;
const PIPE_WORDS = 4;

function layout(buffer: ArrayBuffer): [number, number] {
  const ringBytes = (buffer.byteLength - PIPE_WORDS * 4) / 2;
  return [PIPE_WORDS * 4, PIPE_WORDS * 4 + ringBytes];
}

/**
 * One end of a {@link Pipe}: `send()` an object, `await recv()` one from the other end.
 * `recv()` throws `EOFError` once the other end is closed (or its thread or process ended) and
 * everything it sent has been received.
 */
export class Connection extends SharedObject implements AsyncIterable<unknown>, Publisher {
  readonly #side: number;
  readonly #duplex: boolean;
  readonly #in: Ring | undefined;
  readonly #out: Ring | undefined;
  #closed = false;
  /** Messages sent while the other end's ring was full, in order, waiting for room. */
  #backlog: Uint8Array[] = [];
  #flushing: Promise<void> | undefined;

  /** @internal Use {@link Pipe}. */
  constructor(origin: Origin, side: number, duplex: boolean, init?: { bytes: number }) {
    if (!making && !isOrigin(origin)) throw new TypeError('Cannot create a Connection: its ends come in pairs from Pipe(): const [a, b] = Pipe()');
    super(origin);
    this.#side = side;
    if (this.buffer) {
      if (init) Atomics.store(this.mem!, DUPLEX, duplex ? 1 : 0);
      this.#duplex = Atomics.load(this.mem!, DUPLEX) === 1;
      const [first, second] = layout(this.buffer);
      // Ring 0 carries messages to end 0, ring 1 to end 1.
      const rings = [
        new Ring(this.buffer, first, init && { bytes: init.bytes, maxsize: 0 }),
        new Ring(this.buffer, second, init && { bytes: init.bytes, maxsize: 0 }),
      ];
      this.#in = this.#duplex || side === 0 ? rings[side] : undefined;
      this.#out = this.#duplex || side === 1 ? rings[1 - side] : undefined;
    } else {
      this.#duplex = duplex;
    }
  }

  protected get typeName(): string {
    return 'Connection';
  }

  protected override extra(_ctx: MarshalContext): unknown {
    return { side: this.#side, duplex: this.#duplex };
  }

  #what(verb: string): string {
    return `Cannot ${verb} on this Pipe end`;
  }

  #checkOpen(verb: string): void {
    if (this.#closed) throw new InvalidStateError(`${this.#what(verb)}: it is closed; a closed end stays closed (make a new Pipe())`);
  }

  /** Sends an object to the other end. Throws when this end is closed, receive-only, or the other end is closed. */
  send(obj: unknown): void {
    this.#checkOpen('send');
    if (!this.#duplex && this.#side === 0)
      throw new UnsupportedError(`${this.#what('send')}: it is the receiving end of a one-way pipe (Pipe({ duplex: false }) returns [receiver, sender])`);
    const n = encodeItem(obj, 'message');
    publishAll();
    if (this.remote) {
      this.fire('send', [obj]);
      return;
    }
    const out = this.#out!;
    if (this.#backlog.length === 0) {
      const result = out.put(n);
      if (result === 'ok') return;
      if (result === 'closed') throw new EOFError(`${this.#what('send')}: the other end is closed`);
    } else if (out.closed) {
      throw new EOFError(`${this.#what('send')}: the other end is closed`);
    }
    // The other end's ring is full: keep the message, in order, until there is room. It counts as
    // unpublished, so a task that ends now waits for it to go out before its worker exits.
    this.#backlog.push(copyEncoded(n));
    addPending(this, this.#backlog.length === 1);
    this.#flushing ??= this.#flush();
  }

  /** Sends what waits in the backlog as far as there is room; returns how many messages still wait. */
  publish(): number {
    const left = this.#drain();
    if (left > 0) this.#flushing ??= this.#flush();
    return left;
  }

  /** Moves backlog messages into the other end's ring while they fit; returns how many still wait. */
  #drain(): number {
    const out = this.#out;
    while (out && this.#backlog.length > 0) {
      const next = this.#backlog[0]!;
      const result = out.put(next.length, false, next);
      if (result === 'full') break;
      this.#backlog.shift();
      if (result === 'closed') this.#backlog = [];
    }
    return this.#backlog.length;
  }

  /** Waits for room as often as it takes to send the whole backlog, then closes the ring if this end was closed meanwhile. */
  async #flush(): Promise<void> {
    const out = this.#out!;
    const mem = out.mem;
    for (;;) {
      const space = Atomics.load(mem, SPACE);
      if (this.#drain() === 0) break;
      await waitForRoom(mem, space);
    }
    this.#flushing = undefined;
    if (this.#closed) out.close();
  }

  /**
   * Receives the next object. Throws `EOFError` when the other end is closed and drained,
   * `TimeoutError` when `timeout` ms pass first.
   */
  recv(options?: WaitOptions | number): Promise<unknown> {
    // The fast path, without an async frame: a message is there.
    const inRing = this.#in;
    if (inRing && options === undefined && !this.#closed) {
      try {
        const got = inRing.get();
        if (got !== EMPTY && got !== CLOSED_EMPTY) return Promise.resolve(got);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return this.#recv(options);
  }

  async #recv(options: WaitOptions | number | undefined): Promise<unknown> {
    const opts = typeof options === 'number' ? { timeout: options } : options;
    this.#checkOpen('recv');
    if (!this.#duplex && this.#side === 1)
      throw new UnsupportedError(
        `${this.#what('recv')}: it is the sending end of a one-way pipe (Pipe({ duplex: false }) returns [receiver, sender]); call recv() on the receiving end instead`,
      );
    const inRing = this.#in;
    const what = this.#what('recv');
    const o = checkWaitOptions(what, opts, WAIT_KEYS);
    if (this.remote) return this.call('recv', [sendable(opts)], o.signal);
    const mem = inRing!.mem;
    const left = deadlineOf(o.timeout);
    for (;;) {
      const items = Atomics.load(mem, ITEMS);
      const got = inRing!.get();
      if (got === CLOSED_EMPTY) throw new EOFError(`${what}: the other end is closed and everything it sent has been received`);
      if (got !== EMPTY) return got;
      throwIfAborted(what, o.signal);
      const ms = left();
      if (ms === 0) throw new TimeoutError(`${what}: nothing arrived within ${o.timeout} ms`);
      await waitForItems(mem, items, ms, o.signal);
    }
  }

  /** Whether `recv()` would not wait: a message is there or the other end is closed. Waits up to `timeout` ms (0 by default). */
  async poll(options?: WaitOptions | number): Promise<boolean> {
    const opts = typeof options === 'number' ? { timeout: options } : (options ?? { timeout: 0 });
    this.#checkOpen('poll');
    const what = this.#what('poll');
    const o = checkWaitOptions(what, opts, WAIT_KEYS);
    if (this.remote) return (await this.call('poll', [sendable(opts)], o.signal)) as boolean;
    const inRing = this.#in;
    if (!inRing) throw new UnsupportedError(`${what}: it is the sending end of a one-way pipe; poll the receiving end`);
    const mem = inRing.mem;
    const left = deadlineOf(o.timeout);
    for (;;) {
      const items = Atomics.load(mem, ITEMS);
      if (inRing.count > 0 || inRing.closed) return true;
      throwIfAborted(what, o.signal);
      const ms = left();
      if (ms === 0) return false;
      await waitForItems(mem, items, ms, o.signal);
    }
  }

  /** Closes this end: the other end receives what was sent, then `EOFError`; sending to it fails. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.remote) {
      this.fire('close', []);
      return;
    }
    this.#in?.close();
    if (!this.#flushing) this.#out?.close();
  }

  /** Whether this end is closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Yields messages until the other end is closed and drained. */
  async *[Symbol.asyncIterator](): AsyncIterator<unknown> {
    for (;;) {
      try {
        yield await this.recv();
      } catch (error) {
        if (error instanceof EOFError) return;
        throw error;
      }
    }
  }

  /** The thread or process this end was handed to has ended: like Python's, the end closes with it. */
  override onHolderDied(): void {
    if (!this.remote) {
      this.#closed = true;
      this.#in?.close();
      this.#out?.close();
    }
  }

  _handsOver(method: string): boolean {
    return method === 'recv';
  }

  _giveBack(method: string, value: unknown): void {
    if (method !== 'recv' || !this.#in) return;
    this.#in.put(encodeItem(value, 'message'), true);
  }

  _serve(method: string, args: readonly unknown[], _who: number, signal: AbortSignalLike): unknown {
    switch (method) {
      case 'send':
        return this.send(args[0]);
      case 'recv':
        return this.recv(withSignal(args[0], signal));
      case 'poll':
        return this.poll(withSignal(args[0] ?? { timeout: 0 }, signal));
      case 'close':
        return this.close();
      default:
        throw new ThreadkitError(`Connection has no remote method ${method}`);
    }
  }
}

/**
 * Python's `multiprocessing.Pipe(duplex=True)`: two connected ends.
 * @example
 * const [a, b] = Pipe();
 * a.send('hello'); console.log(await b.recv()); // 'hello'
 */
export function Pipe(options?: PipeOptions): [Connection, Connection] {
  const o = checkOptionsObject<PipeOptions>('Cannot create a Pipe', options, ['duplex', 'bytes']);
  const duplex = o.duplex ?? true;
  if (typeof duplex !== 'boolean') throw new TypeError(`Cannot create a Pipe: duplex must be a boolean, got ${describe(duplex)}`);
  const bytes = o.bytes === undefined ? DEFAULT_RING_BYTES : checkInteger('Cannot create a Pipe', 'bytes', o.bytes, 64, 2 ** 30);
  const ringSize = Ring.bufferSize(bytes);
  making = true;
  try {
    const first = new Connection({ kind: 'new', words: PIPE_WORDS, bytes: 2 * ringSize }, 0, duplex, { bytes });
    const buffer = (first as unknown as { buffer: ArrayBuffer }).buffer;
    const second = new Connection({ kind: 'shared', buffer }, 1, duplex);
    return [first, second];
  } finally {
    making = false;
  }
}

/** Set while {@link Pipe} makes its two ends: a `Connection` is made by `Pipe()` or revived, never by hand. */
let making = false;

registerShared('Connection', (origin, extra) => {
  const { side, duplex } = extra as { side: number; duplex: boolean };
  return new Connection(origin, side, duplex);
});
