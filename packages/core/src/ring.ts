/**
 * The byte ring under Queue and Pipe: encoded items, each stored contiguously as
 * `[length][payload]`, in a block of memory shared by every thread that holds the queue.
 * A short internal mutex guards each put and get (never held across an await), so any mix
 * of producers and consumers is safe; two sequence words let waiters sleep on "an item came"
 * and "space came" without polling.
 *
 * An operation takes effect at one store under the mutex, so a thread terminated in the
 * middle of a put or get either did it or did not: the ring is never left half-written.
 */
import { Decoder, Encoder } from './codec.js';
import { DataCloneError } from './errors.js';
import { notify } from './futex.js';
import { lockSync, unlockSync } from './mutex.js';

// Header words.
export const MUTEX = 0;
export const COUNT = 1;
const HEAD = 2;
const TAIL = 3;
const USED = 4;
export const CLOSED = 5;
export const MAXSIZE = 6;
/** Bumped on every put: consumers sleep on it. */
export const ITEMS = 7;
/** Bumped on every get: producers sleep on it. */
export const SPACE = 8;
export const GET_WAITERS = 9;
export const PUT_WAITERS = 10;
/** JoinableQueue: items put and not yet marked done. */
export const UNFINISHED = 11;
/** JoinableQueue: bumped when UNFINISHED reaches 0. */
export const ALL_DONE = 12;
const CAPACITY = 13;
export const HEADER_WORDS = 16;
const WRAP = -1;

/** The default bytes of a ring: room for 4 items of 64 KiB, or thousands of small ones. */
export const DEFAULT_RING_BYTES = 256 * 1024 + 64;

/** What one realm uses to put values into rings and take them out (a realm runs one operation at a time). */
const encoder = new Encoder({ context: { inRing: true } });
const decoder = new Decoder({ context: { inRing: true } });

/** A copy of the item last encoded, to keep while it waits for room. */
export function copyEncoded(n: number): Uint8Array {
  return encoder.scratch.slice(0, n);
}

/** Encodes an item for a ring; returns its byte length. The bytes stay in the realm's encoder until the next encode. */
export function encodeItem(value: unknown, root: string): number {
  const n = encoder.encodeToScratch(value, root);
  if (encoder.takeShared().length > 0) {
    throw new DataCloneError(
      `Cannot send ${root}: it holds shared memory (a Queue, Lock, Event or Pipe end, or a SharedArrayBuffer), which cannot travel through a queue or pipe; pass it to the thread or process in args instead`,
      root,
    );
  }
  return n;
}

const align4 = (n: number): number => (n + 3) & ~3;

/** How a put went. */
export type PutResult = 'ok' | 'full' | 'closed';

/** A ring over `mem` (its header) and the byte region after the header. */
export class Ring {
  readonly #mem: Int32Array;
  readonly #bytes: Uint8Array;
  readonly #words: Int32Array;
  readonly #capacity: number;

  /** Sizes a buffer for a ring of `bytes` data bytes. */
  static bufferSize(bytes: number): number {
    return HEADER_WORDS * 4 + align4(bytes);
  }

  constructor(buffer: ArrayBuffer, offset: number, init?: { bytes: number; maxsize: number }) {
    this.#mem = new Int32Array(buffer, offset, HEADER_WORDS);
    if (init) {
      Atomics.store(this.#mem, CAPACITY, align4(init.bytes));
      Atomics.store(this.#mem, MAXSIZE, init.maxsize);
    }
    this.#capacity = Atomics.load(this.#mem, CAPACITY);
    this.#bytes = new Uint8Array(buffer, offset + HEADER_WORDS * 4, this.#capacity);
    this.#words = new Int32Array(buffer, offset + HEADER_WORDS * 4, this.#capacity >> 2);
  }

  /** The header words (for waiting on ITEMS / SPACE). */
  get mem(): Int32Array {
    return this.#mem;
  }

  get capacity(): number {
    return this.#capacity;
  }

  /**
   * Puts the item last encoded by {@link encodeItem} (`n` bytes), or `source` when given.
   * `force` ignores maxsize and closing (giving an item back).
   */
  put(n: number, force = false, source?: Uint8Array): PutResult {
    const mem = this.#mem;
    const need = 4 + align4(n);
    if (need > this.#capacity) {
      throw new RangeError(
        `Cannot put an item of ${n} bytes: it is larger than the ring of ${this.#capacity - 4} bytes that carries it; create the Queue or Pipe with a larger { bytes }`,
      );
    }
    lockSync(mem, MUTEX);
    try {
      if (Atomics.load(mem, CLOSED) !== 0 && !force) return 'closed';
      const maxsize = Atomics.load(mem, MAXSIZE);
      if (!force && maxsize > 0 && Atomics.load(mem, COUNT) >= maxsize) return 'full';
      const cap = this.#capacity;
      // HEAD, TAIL and USED are only touched under the mutex, whose acquire and release order them.
      let used = mem[USED]!;
      let head = mem[HEAD]!;
      let tail = mem[TAIL]!;
      if (used === 0) head = tail = 0;
      let pos: number;
      if (tail >= head && used < cap) {
        if (cap - tail >= need) pos = tail;
        else if (head >= need) {
          // Not enough room before the end: mark the rest as skipped and go round.
          if (cap - tail >= 4) this.#words[tail >> 2] = WRAP;
          used += cap - tail;
          pos = 0;
        } else return 'full';
      } else if (head - tail >= need) pos = tail;
      else return 'full';
      this.#words[pos >> 2] = n;
      if (source) this.#bytes.set(source, pos + 4);
      else encoder.copyTo(this.#bytes, pos + 4);
      mem[HEAD] = head;
      mem[TAIL] = pos + need;
      mem[USED] = used + need;
      if (!force) Atomics.add(mem, UNFINISHED, 1);
      // The commit: consumers go by COUNT.
      Atomics.add(mem, COUNT, 1);
      Atomics.add(mem, ITEMS, 1);
    } finally {
      unlockSync(mem, MUTEX);
    }
    if (Atomics.load(mem, GET_WAITERS) > 0) notify(mem, ITEMS, 1);
    return 'ok';
  }

  /** Takes the first item, or returns `empty`/`closed` (closed only once drained). */
  get(): { value: unknown } | 'empty' | 'closed' {
    const mem = this.#mem;
    let value: unknown;
    lockSync(mem, MUTEX);
    try {
      if (Atomics.load(mem, COUNT) === 0) return Atomics.load(mem, CLOSED) !== 0 ? 'closed' : 'empty';
      const cap = this.#capacity;
      let head = mem[HEAD]!;
      let used = mem[USED]!;
      if (cap - head < 4 || this.#words[head >> 2] === WRAP) {
        used -= cap - head;
        head = 0;
      }
      const n = this.#words[head >> 2]!;
      const need = 4 + align4(n);
      try {
        value = decoder.decodeRange(this.#bytes, head + 4, head + 4 + n);
      } finally {
        used -= need;
        mem[HEAD] = used === 0 ? 0 : head + need;
        if (used === 0) mem[TAIL] = 0;
        mem[USED] = used;
        Atomics.sub(mem, COUNT, 1);
        Atomics.add(mem, SPACE, 1);
      }
    } finally {
      unlockSync(mem, MUTEX);
    }
    if (Atomics.load(mem, PUT_WAITERS) > 0) notify(mem, SPACE, 1);
    return { value };
  }

  /** Whether an item is waiting. */
  get count(): number {
    return Atomics.load(this.#mem, COUNT);
  }

  /** Closes the ring: puts fail from now on; gets drain what is left; every waiter wakes. */
  close(): void {
    const mem = this.#mem;
    Atomics.store(mem, CLOSED, 1);
    Atomics.add(mem, ITEMS, 1);
    Atomics.add(mem, SPACE, 1);
    notify(mem, ITEMS);
    notify(mem, SPACE);
  }

  get closed(): boolean {
    return Atomics.load(this.#mem, CLOSED) !== 0;
  }
}
