/**
 * The byte ring under Queue and Pipe: encoded items, each stored contiguously as
 * `[length][payload]`, in a block of memory shared by every thread that holds the queue.
 * Producers take turns under one short internal mutex and consumers under another (never held
 * across an await), so any mix of producers and consumers is safe, and a producer and a
 * consumer never wait for each other: the producer owns TAIL, the consumer owns HEAD, and
 * they meet only at two counters (COUNT, USED). Two sequence words let waiters sleep on
 * "an item came" and "space came" without polling.
 *
 * A put takes effect at its final `COUNT` add and a get at its final stores, so a thread
 * terminated in the middle of either did it or did not: the ring is never left half-written.
 */
import { Decoder, Encoder } from './codec.js';
import { DataCloneError } from './errors.js';
import { notifyRaw as notify, spin, wait, type AbortSignalLike } from './futex.js';
import { addPending, publishAll, type Publisher } from './publish.js';
import { lockSync, unlockSync } from './mutex.js';

// Header words, on separate 64-byte cache lines by who writes them, so a producer and a
// consumer on two cores do not fight over one line for every item.
// Line 0, the producers' (under PUT_LOCK):
const PUT_LOCK = 0;
const TAIL = 1;
const CAPACITY = 2;
export const MAXSIZE = 3;
export const CLOSED = 4;
const PUT_SLEEPERS = 5;
// Line 1, the consumers' (under GET_LOCK):
const GET_LOCK = 16;
const HEAD = 17;
const GET_SLEEPERS = 18;
// Line 2, where they meet: items published and not yet taken, bytes in use.
export const COUNT = 32;
const USED = 33;
// Line 3, the consumers' wait side:
/** Bumped when items are published: consumers sleep on it. */
export const ITEMS = 48;
export const GET_WAITERS = 49;
// Line 4, the producers' wait side:
/** Bumped on every get: producers sleep on it. */
export const SPACE = 64;
export const PUT_WAITERS = 65;
// Line 5, the queue's counts:
/** Queue: items not yet got (a bounded queue counts them from put, an unbounded one from publishing). */
export const SLOTS = 80;
/** JoinableQueue: items put and not yet marked done. */
export const UNFINISHED = 81;
/** JoinableQueue: bumped when UNFINISHED reaches 0. */
export const ALL_DONE = 82;
export const HEADER_WORDS = 96;
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

// Entries are `[length: 4 bytes][4 bytes unused][payload]` at 8-aligned offsets, so binary
// payloads sit 8-aligned in memory: copying them out of shared memory is several times faster.
const align8 = (n: number): number => (n + 7) & ~7;
const ENTRY = 8;

/** How a put went. */
export type PutResult = 'ok' | 'full' | 'closed';

/** A ring over `mem` (its header) and the byte region after the header. */
export class Ring {
  readonly #mem: Int32Array;
  readonly #bytes: Uint8Array;
  readonly #words: Int32Array;
  readonly #capacity: number;
  readonly #maxsize: number;

  /** Sizes a buffer for a ring of `bytes` data bytes. */
  static bufferSize(bytes: number): number {
    return HEADER_WORDS * 4 + align8(bytes);
  }

  constructor(buffer: ArrayBuffer, offset: number, init?: { bytes: number; maxsize: number }) {
    this.#mem = new Int32Array(buffer, offset, HEADER_WORDS);
    if (init) {
      Atomics.store(this.#mem, CAPACITY, align8(init.bytes));
      Atomics.store(this.#mem, MAXSIZE, init.maxsize);
    }
    this.#capacity = Atomics.load(this.#mem, CAPACITY);
    this.#maxsize = Atomics.load(this.#mem, MAXSIZE);
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
    const need = ENTRY + align8(n);
    this.checkFits(n);
    lockSync(mem, PUT_LOCK, PUT_SLEEPERS);
    try {
      if (Atomics.load(mem, CLOSED) !== 0 && !force) return 'closed';
      const maxsize = this.#maxsize;
      if (!force && maxsize > 0 && Atomics.load(mem, COUNT) >= maxsize) return 'full';
      const c = this.#cursor();
      const pos = this.#place(c, need);
      if (pos < 0) return 'full';
      this.#words[pos >> 2] = n;
      if (source) this.#bytes.set(source, pos + ENTRY);
      else encoder.copyTo(this.#bytes, pos + ENTRY);
      this.#commit(c, 1);
    } finally {
      unlockSync(mem, PUT_LOCK, PUT_SLEEPERS);
    }
    if (Atomics.load(mem, GET_WAITERS) > 0) notify(mem, ITEMS, 1);
    return 'ok';
  }

  /**
   * Writes packed payloads under one lock, as many as fit, ignoring maxsize and closing (they
   * were reserved before): item i is `lengths[i]` bytes of `bytes`, one after another from
   * `offset`, for items `from` to `to`. Returns how many it wrote.
   */
  publish(bytes: Uint8Array, lengths: Int32Array, from: number, to: number, offset: number): number {
    const mem = this.#mem;
    const ring = this.#bytes;
    let written = 0;
    lockSync(mem, PUT_LOCK, PUT_SLEEPERS);
    try {
      const c = this.#cursor();
      for (let i = from, at = offset; i < to; i++) {
        const n = lengths[i]!;
        const pos = this.#place(c, ENTRY + align8(n));
        if (pos < 0) break;
        this.#words[pos >> 2] = n;
        const dst = pos + ENTRY;
        if (n <= 64) for (let j = 0; j < n; j++) ring[dst + j] = bytes[at + j]!;
        else ring.set(bytes.subarray(at, at + n), dst);
        at += n;
        written++;
      }
      if (written > 0) {
        if (this.#maxsize === 0) Atomics.add(mem, SLOTS, written);
        this.#commit(c, written);
      }
    } finally {
      unlockSync(mem, PUT_LOCK, PUT_SLEEPERS);
    }
    if (written > 0 && Atomics.load(mem, GET_WAITERS) > 0) notify(mem, ITEMS, written);
    return written;
  }

  // A producer's view, taken under PUT_LOCK: its own TAIL, and HEAD and USED as the consumers
  // last left them (they only free memory, so an older view only sees less room).
  readonly #c = { used: 0, head: 0, tail: 0, added: 0 };

  /** Under PUT_LOCK: the ring's positions, in a reused cursor. USED is read before HEAD: a consumer writes them the other way round. */
  #cursor(): { used: number; head: number; tail: number; added: number } {
    const mem = this.#mem;
    const c = this.#c;
    c.used = Atomics.load(mem, USED);
    c.head = Atomics.load(mem, HEAD);
    c.tail = mem[TAIL]!;
    c.added = 0;
    return c;
  }

  /** Under PUT_LOCK: where an entry of `need` bytes goes (advancing the cursor), or -1 when it does not fit now. */
  #place(c: { used: number; head: number; tail: number; added: number }, need: number): number {
    const cap = this.#capacity;
    let pos: number;
    if (c.tail >= c.head && c.used < cap) {
      if (cap - c.tail >= need) pos = c.tail;
      else if (c.head >= need) {
        // Not enough room before the end: mark the rest as skipped and go round.
        if (cap - c.tail >= ENTRY) this.#words[c.tail >> 2] = WRAP;
        c.used += cap - c.tail;
        c.added += cap - c.tail;
        pos = 0;
      } else return -1;
    } else if (c.head - c.tail >= need) pos = c.tail;
    else return -1;
    c.tail = pos + need;
    c.used += need;
    c.added += need;
    return pos;
  }

  /** Under PUT_LOCK: makes `k` written entries visible; the COUNT add is the commit consumers go by. */
  #commit(c: { tail: number; added: number }, k: number): void {
    const mem = this.#mem;
    mem[TAIL] = c.tail;
    Atomics.add(mem, USED, c.added);
    Atomics.add(mem, COUNT, k);
    Atomics.add(mem, ITEMS, 1);
  }

  /** Checks that an item of `n` bytes can ever fit. */
  checkFits(n: number): void {
    if (ENTRY + align8(n) > this.#capacity) {
      throw new RangeError(
        `Cannot put an item of ${n} bytes: it is larger than the ring of ${this.#capacity - ENTRY} bytes that carries it; create the Queue or Pipe with a larger { bytes }`,
      );
    }
  }

  /**
   * A Queue's put reserves a slot first: a bounded queue counts items still in outboxes too;
   * an unbounded one counts them when they are published (no shared write per put).
   * A JoinableQueue counts every put as unfinished at once, so `join()` never returns early.
   */
  reserve(joinable: boolean): 'ok' | 'full' | 'closed' {
    const mem = this.#mem;
    if (Atomics.load(mem, CLOSED) !== 0) return 'closed';
    const max = this.#maxsize;
    if (max > 0) {
      for (;;) {
        const slots = Atomics.load(mem, SLOTS);
        if (slots >= max) return 'full';
        if (Atomics.compareExchange(mem, SLOTS, slots, slots + 1) === slots) break;
      }
    }
    if (joinable) Atomics.add(mem, UNFINISHED, 1);
    return 'ok';
  }

  /** Takes the first item, or returns `empty`/`closed` (closed only once drained). `releaseSlot`: a Queue's get frees a reserved slot. */
  get(releaseSlot = false): { value: unknown } | 'empty' | 'closed' {
    const mem = this.#mem;
    let value: unknown;
    lockSync(mem, GET_LOCK, GET_SLEEPERS);
    try {
      if (Atomics.load(mem, COUNT) === 0) return Atomics.load(mem, CLOSED) !== 0 ? 'closed' : 'empty';
      const cap = this.#capacity;
      let head = mem[HEAD]!;
      let freed = 0;
      if (cap - head < ENTRY || this.#words[head >> 2] === WRAP) {
        freed = cap - head;
        head = 0;
      }
      const n = this.#words[head >> 2]!;
      const need = ENTRY + align8(n);
      try {
        value = decoder.decodeRange(this.#bytes, head + ENTRY, head + ENTRY + n);
      } finally {
        // HEAD before USED: a producer reads them the other way round.
        Atomics.store(mem, HEAD, head + need);
        Atomics.sub(mem, USED, freed + need);
        Atomics.sub(mem, COUNT, 1);
        if (releaseSlot) Atomics.sub(mem, SLOTS, 1);
        Atomics.add(mem, SPACE, 1);
      }
    } finally {
      unlockSync(mem, GET_LOCK, GET_SLEEPERS);
    }
    if (Atomics.load(mem, PUT_WAITERS) > 0) notify(mem, SPACE, 1);
    return { value };
  }

  /** Whether an item is waiting. */
  get count(): number {
    return Atomics.load(this.#mem, COUNT);
  }

  /** A Queue's items: put and not yet got, published or not. */
  get slots(): number {
    return Atomics.load(this.#mem, SLOTS);
  }

  /** Closes the ring: puts fail from now on; gets drain what is left; every waiter wakes. */
  close(): void {
    publishAll();
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

/**
 * A realm's items for one ring, put but not yet published (see publish.ts). Items wait here in
 * order; when the ring has no room left they wait for room, still in order.
 */
export class Outbox implements Publisher {
  // Payloads packed one after another (no allocation per item), and their lengths.
  #bytes = new Uint8Array(4096);
  #lengths = new Int32Array(64);
  /** Items [first, count) wait; their bytes are [offset, end). */
  #first = 0;
  #count = 0;
  #offset = 0;
  #end = 0;
  #waiting = false;

  constructor(private readonly ring: Ring) {}

  /** Adds the item last encoded (`n` bytes). */
  add(n: number): void {
    if (this.#end + n > this.#bytes.length) this.#grow(n);
    if (this.#count === this.#lengths.length) {
      if (this.#first > 0) {
        this.#lengths.copyWithin(0, this.#first, this.#count);
        this.#count -= this.#first;
        this.#first = 0;
      } else {
        const lengths = new Int32Array(this.#lengths.length * 2);
        lengths.set(this.#lengths);
        this.#lengths = lengths;
      }
    }
    encoder.copyTo(this.#bytes, this.#end);
    this.#end += n;
    this.#lengths[this.#count++] = n;
    addPending(this, this.#count - this.#first === 1);
    // A big batch goes out at once: no need to hold much memory twice.
    if (this.#count - this.#first >= 256 || this.#end - this.#offset >= this.ring.capacity >> 2) this.publish();
  }

  #grow(n: number): void {
    // Drop what was published, then make room.
    const live = this.#end - this.#offset;
    if (live + n <= this.#bytes.length) {
      this.#bytes.copyWithin(0, this.#offset, this.#end);
    } else {
      const bytes = new Uint8Array(2 * (live + n));
      bytes.set(this.#bytes.subarray(this.#offset, this.#end));
      this.#bytes = bytes;
    }
    this.#end -= this.#offset;
    this.#offset = 0;
  }

  /** Items waiting. */
  get length(): number {
    return this.#count - this.#first;
  }

  /** Bytes waiting. */
  get bytes(): number {
    return this.#end - this.#offset;
  }

  /** Calls `fn` once everything added so far is published (at once when nothing waits). */
  whenDrained(fn: () => void): void {
    if (this.length === 0) fn();
    else this.#drained.push(fn);
  }

  #drained: (() => void)[] = [];

  publish(): number {
    if (this.#count === this.#first) return 0;
    const written = this.ring.publish(this.#bytes, this.#lengths, this.#first, this.#count, this.#offset);
    for (let i = this.#first; i < this.#first + written; i++) this.#offset += this.#lengths[i]!;
    this.#first += written;
    if (this.#first === this.#count) {
      this.#first = this.#count = this.#offset = this.#end = 0;
      const drained = this.#drained;
      if (drained.length > 0) {
        this.#drained = [];
        for (const fn of drained) fn();
      }
      return 0;
    }
    if (!this.#waiting) void this.#waitForRoom();
    return this.#count - this.#first;
  }

  /** The ring is full of bytes: wait for consumers to make room, then publish the rest. */
  async #waitForRoom(): Promise<void> {
    this.#waiting = true;
    const mem = this.ring.mem;
    try {
      while (this.length > 0) {
        const space = Atomics.load(mem, SPACE);
        publishAll();
        if (this.length === 0) break;
        await waitForRoom(mem, space);
      }
    } finally {
      this.#waiting = false;
    }
  }
}

/** Waits (spinning first) until the ring's SPACE word moves on from `space`: a producer waiting for room. */
export async function waitForRoom(mem: Int32Array, space: number, timeout?: number, signal?: AbortSignalLike): Promise<void> {
  if (spin(mem, SPACE, space)) return;
  Atomics.add(mem, PUT_WAITERS, 1);
  try {
    await wait(mem, SPACE, space, timeout, signal);
  } finally {
    Atomics.sub(mem, PUT_WAITERS, 1);
  }
}

/** Waits (spinning first) until the ring's ITEMS word moves on from `items`: a consumer waiting for an item. */
export async function waitForItems(mem: Int32Array, items: number, timeout?: number, signal?: AbortSignalLike): Promise<void> {
  if (spin(mem, ITEMS, items)) return;
  Atomics.add(mem, GET_WAITERS, 1);
  try {
    await wait(mem, ITEMS, items, timeout, signal);
  } finally {
    Atomics.sub(mem, GET_WAITERS, 1);
  }
}
