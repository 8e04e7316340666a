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
import { Decoder, Encoder } from './codec/index.js';
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
/** A bounded Queue: items not yet got, counted from put (an unbounded one goes by COUNT). */
export const SLOTS = 80;
/** JoinableQueue: items put and not yet marked done. */
export const UNFINISHED = 81;
/** JoinableQueue: bumped when UNFINISHED reaches 0. */
export const ALL_DONE = 82;
// Lines 6–13, the producers' table, for a Queue whose puts reserve (bounded, or joinable): per
// producing thread, its tag and how many of its puts reserved and are not yet published. A thread
// terminated before it published loses those items (as in Python); its parent gives back what
// they reserved, so the queue's count and capacity do not shrink for good.
const PRODUCERS = 96;
const PRODUCER_SLOTS = 64;
export const HEADER_WORDS = PRODUCERS + 2 * PRODUCER_SLOTS;
const WRAP = -1;

/** What a 64 KiB `Uint8Array` takes in a ring: 8 bytes of entry header, 16 of encoding, the bytes. */
const ENTRY_OF_64K = 64 * 1024 + 24;

/** The default bytes of a Pipe's ring (one per direction): room for 4 messages of 64 KiB, or thousands of small ones. */
export const DEFAULT_RING_BYTES = 4 * ENTRY_OF_64K;

/**
 * The default bytes of a Queue's ring: room for 16 items of 64 KiB. A stream of large items needs
 * that depth: with room for 4, a consumer drained the ring while its producer was still waking
 * up, and a 64 KiB stream ran ~1.4× slower.
 */
export const DEFAULT_QUEUE_BYTES = 16 * ENTRY_OF_64K;

/** What one realm uses to put values into rings and take them out (a realm runs one operation at a time). */
const encoder = new Encoder({ context: { inRing: true } });
const decoder = new Decoder({ context: { inRing: true } });

/** Items up to this size are copied out of the ring and decoded outside its lock. */
const COPY_OUT = 1024;
/** Where they are copied (one per realm: a realm runs one get at a time). */
let copyOut = new Uint8Array(COPY_OUT);

/** A copy of the item last encoded, to keep while it waits for room. */
export function copyEncoded(n: number): Uint8Array {
  return encoder.scratch.slice(0, n);
}

/** Encodes an item for a ring; returns its byte length. The bytes stay in the realm's encoder until the next encode. */
export function encodeItem(value: unknown, root: string): number {
  const n = encoder.encodeToScratch(value, root);
  if (encoder.takeShared().length > 0) throw holdsShared(root);
  return n;
}

function holdsShared(root: string): DataCloneError {
  return new DataCloneError(
    `Cannot send ${root}: it holds shared memory (a Queue, Lock, Event or Pipe end, or a SharedArrayBuffer), which cannot travel through a queue or pipe; pass it to the thread or process in args instead`,
    root,
  );
}

// Entries are `[length: 4 bytes][4 bytes unused][payload]` at 8-aligned offsets, so binary
// payloads sit 8-aligned in memory: copying them out of shared memory is several times faster.
const align8 = (n: number): number => (n + 7) & ~7;
const ENTRY = 8;

/** Copies `src[from, to)` to `dst` at `at`: a loop for a few bytes (cheaper than a subarray), else one copy. */
function copyRun(dst: Uint8Array, at: number, src: Uint8Array, from: number, to: number): void {
  if (to - from <= 64) for (let i = from; i < to; i++) dst[at++] = src[i]!;
  else dst.set(src.subarray(from, to), at);
}

/** What {@link Ring.get} returns when no item waits (values are never symbols: the codec refuses them). */
export const EMPTY: unique symbol = Symbol('empty');
/** What {@link Ring.get} returns when the ring is closed and drained. */
export const CLOSED_EMPTY: unique symbol = Symbol('closed');

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
   * Writes whole entries, already in the ring's layout, under one lock: as many as fit, ignoring
   * maxsize and closing (they were reserved before). The entries are `src[from, to)`, with
   * `srcWords` a 32-bit view of the same memory for their length words. Each contiguous run is one
   * copy. Returns how many entries it wrote; {@link consumed} says how many bytes of `src` they took.
   */
  publish(src: Uint8Array, srcWords: Int32Array, from: number, to: number, producer = -1): number {
    const mem = this.#mem;
    const ring = this.#bytes;
    let written = 0;
    let at = from;
    lockSync(mem, PUT_LOCK, PUT_SLEEPERS);
    try {
      const c = this.#cursor();
      // The run being gathered: src[runFrom, at) goes to ring[runTo...).
      let runFrom = at;
      let runTo = -1;
      while (at < to) {
        const need = ENTRY + align8(srcWords[at >> 2]!);
        const pos = this.#place(c, need);
        if (pos < 0) break;
        if (pos !== runTo + (at - runFrom)) {
          if (runTo >= 0) copyRun(ring, runTo, src, runFrom, at);
          runFrom = at;
          runTo = pos;
        }
        at += need;
        written++;
      }
      if (runTo >= 0) copyRun(ring, runTo, src, runFrom, at);
      if (written > 0) {
        this.#commit(c, written);
        // After the commit: a thread terminated between the two has its published items counted
        // as lost, and the queue briefly holds more than it reserved, rather than less for good.
        if (producer >= 0) Atomics.sub(mem, producer + 1, written);
      }
    } finally {
      unlockSync(mem, PUT_LOCK, PUT_SLEEPERS);
    }
    this.consumed = at - from;
    if (written > 0 && Atomics.load(mem, GET_WAITERS) > 0) notify(mem, ITEMS, written);
    return written;
  }

  /** The bytes of `src` that the last {@link publish} took. */
  consumed = 0;

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

  /**
   * The producers' table entry of the thread `tag` (the index of its tag word; its count follows),
   * claimed if it has none; -1 when the table is full (that thread's reservations then go
   * untracked).
   */
  producerEntry(tag: number): number {
    const mem = this.#mem;
    const end = PRODUCERS + 2 * PRODUCER_SLOTS;
    for (let at = PRODUCERS; at < end; at += 2) if (Atomics.load(mem, at) === tag) return at;
    for (let at = PRODUCERS; at < end; at += 2) {
      if (Atomics.load(mem, at) === 0 && Atomics.compareExchange(mem, at, 0, tag) === 0) return at;
    }
    return -1;
  }

  /** Counts a put that reserved as not yet published, for the entry {@link producerEntry} gave. */
  reserved(entry: number): void {
    if (entry >= 0) Atomics.add(this.#mem, entry + 1, 1);
  }

  /**
   * The thread `tag` ended: frees its producers' table entry and returns how many of its puts
   * had reserved and were never published (its parent gives their reservations back).
   */
  releaseProducer(tag: number): number {
    const mem = this.#mem;
    const end = PRODUCERS + 2 * PRODUCER_SLOTS;
    for (let at = PRODUCERS; at < end; at += 2) {
      if (Atomics.load(mem, at) !== tag) continue;
      const lost = Atomics.exchange(mem, at + 1, 0);
      Atomics.compareExchange(mem, at, tag, 0);
      return Math.max(0, lost);
    }
    return 0;
  }

  /**
   * Takes the first item, or returns {@link EMPTY} or {@link CLOSED_EMPTY} (closed and drained).
   * `releaseSlot`: a bounded Queue's get frees the slot its put reserved.
   */
  get(releaseSlot = false): unknown {
    const mem = this.#mem;
    let value: unknown;
    let taken = -1;
    lockSync(mem, GET_LOCK, GET_SLEEPERS);
    try {
      if (Atomics.load(mem, COUNT) === 0) return Atomics.load(mem, CLOSED) !== 0 ? CLOSED_EMPTY : EMPTY;
      const cap = this.#capacity;
      let head = mem[HEAD]!;
      let freed = 0;
      if (cap - head < ENTRY || this.#words[head >> 2] === WRAP) {
        freed = cap - head;
        head = 0;
      }
      const n = this.#words[head >> 2]!;
      const need = ENTRY + align8(n);
      const at = head + ENTRY;
      try {
        // A small item is copied out and decoded after the lock is released: the lock is held for
        // a copy rather than a decode, so consumers wait for each other far less. A large one is
        // decoded in place (one copy instead of two).
        if (n <= COPY_OUT) {
          let out = copyOut;
          if (out.length < n) out = copyOut = new Uint8Array(Math.max(n, 2 * out.length));
          const src = this.#bytes;
          for (let i = 0; i < n; i++) out[i] = src[at + i]!;
          taken = n;
        } else {
          value = decoder.decodeRange(this.#bytes, at, at + n);
        }
      } finally {
        // HEAD before USED: a producer reads them the other way round.
        Atomics.store(mem, HEAD, head + need);
        Atomics.sub(mem, USED, freed + need);
        Atomics.sub(mem, COUNT, 1);
        if (releaseSlot && this.#maxsize > 0) Atomics.sub(mem, SLOTS, 1);
        Atomics.add(mem, SPACE, 1);
      }
    } finally {
      unlockSync(mem, GET_LOCK, GET_SLEEPERS);
    }
    if (Atomics.load(mem, PUT_WAITERS) > 0) notify(mem, SPACE, 1);
    return taken >= 0 ? decoder.decodeRange(copyOut, 0, taken) : value;
  }

  /** Whether an item is waiting. */
  get count(): number {
    return Atomics.load(this.#mem, COUNT);
  }

  /** A Queue's items not yet got: a bounded queue counts them from put (published or not), an unbounded one from publishing. */
  get slots(): number {
    return Atomics.load(this.#mem, this.#maxsize > 0 ? SLOTS : COUNT);
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
 * order, encoded in place by the outbox's own encoder in the ring's entry layout, so an item is
 * copied once more only when published, a contiguous run at a time. When the ring has no room
 * left they wait for room, still in order.
 */
export class Outbox implements Publisher {
  readonly #encoder = new Encoder({ context: { inRing: true } });
  /** A 32-bit view of the encoder's buffer (for the length words), remade when the buffer grows. */
  #words: Int32Array = new Int32Array(0);
  /** Entries waiting, in bytes [offset, end) of the encoder's buffer (8-aligned). */
  #count = 0;
  #offset = 0;
  #end = 0;
  #waiting = false;

  /** The producers' table entry of this realm, for a ring whose puts reserve (-1: none, or not tracked). */
  readonly #entry: number;

  constructor(
    private readonly ring: Ring,
    producer?: number,
  ) {
    this.#entry = producer === undefined ? -1 : ring.producerEntry(producer);
  }

  /**
   * Encodes `item` as the next entry, not yet added: returns its payload length. Throws
   * (leaving the outbox as it was) when it cannot be encoded or can never fit in the ring.
   */
  encode(item: unknown, root: string): number {
    // Published entries leave dead bytes in front: drop them once they outweigh the live ones.
    if (this.#offset >= 4096 && this.#offset >= this.#end - this.#offset) {
      this.#encoder.scratch.copyWithin(0, this.#offset, this.#end);
      this.#end -= this.#offset;
      this.#offset = 0;
    }
    const at = this.#end + ENTRY;
    const encoder = this.#encoder;
    const n = encoder.encodeAfter(item, root, at) - at;
    if (encoder.takeShared().length > 0) throw holdsShared(root);
    this.ring.checkFits(n);
    return n;
  }

  /** Adds the entry last encoded (`n` bytes). */
  add(n: number): void {
    this.ring.reserved(this.#entry);
    const buf = this.#encoder.scratch;
    let words = this.#words;
    if (words.buffer !== buf.buffer) words = this.#words = new Int32Array(buf.buffer, 0, buf.length >> 2);
    const at = this.#end;
    words[at >> 2] = n;
    this.#end = at + ENTRY + align8(n);
    this.#count++;
    addPending(this, this.#count === 1);
    // A big batch goes out at once: no need to hold much memory twice.
    if (this.#count >= 256 || this.#end - this.#offset >= this.ring.capacity >> 2) this.publish();
  }

  /** Items waiting. */
  get length(): number {
    return this.#count;
  }

  /** Bytes waiting. */
  get bytes(): number {
    return this.#end - this.#offset;
  }

  /** Calls `fn` once everything added so far is published (at once when nothing waits). */
  whenDrained(fn: () => void): void {
    if (this.#count === 0) fn();
    else this.#drained.push(fn);
  }

  #drained: (() => void)[] = [];

  publish(): number {
    if (this.#count === 0) return 0;
    const ring = this.ring;
    const written = ring.publish(this.#encoder.scratch, this.#words, this.#offset, this.#end, this.#entry);
    this.#offset += ring.consumed;
    this.#count -= written;
    if (this.#count === 0) {
      this.#offset = this.#end = 0;
      const drained = this.#drained;
      if (drained.length > 0) {
        this.#drained = [];
        for (const fn of drained) fn();
      }
      return 0;
    }
    if (!this.#waiting) void this.#waitForRoom();
    return this.#count;
  }

  /** The ring is full of bytes: wait for consumers to make room, then publish the rest. */
  async #waitForRoom(): Promise<void> {
    this.#waiting = true;
    const mem = this.ring.mem;
    try {
      while (this.#count > 0) {
        const space = Atomics.load(mem, SPACE);
        publishAll();
        if (this.#count === 0) break;
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
