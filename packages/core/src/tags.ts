/**
 * Realm tags: a number unique to each thread of this OS process, so shared objects can record
 * who holds them (RLock ownership, locks held by a worker that died), and the table of which
 * tags have ended.
 */

let myTag = 1;
let tagCounter: Int32Array | undefined;

/** This realm's tag: 1 on the main thread of the first process, unique among the threads of an OS process. */
export function realmTag(): number {
  return myTag;
}

/** The realm on whose behalf the current call runs: a remote caller while serving one, else this realm. */
let callerTag: number | undefined;

/** The tag that owns what the current call acquires. */
export function currentCaller(): number {
  return callerTag ?? myTag;
}

/** Runs `fn` as if called by the realm `who` (the owner serving a call from another realm). */
export function _asCaller<T>(who: number, fn: () => T): T {
  const outer = callerTag;
  callerTag = who;
  try {
    return fn();
  } finally {
    callerTag = outer;
  }
}

/**
 * What every thread of an OS process knows of every tag: a bit set when that thread has ended,
 * a bit set when it has started threads of its own, and the tag of the thread that started it.
 * A thread that dies takes the threads it started with it (a runtime ends a worker's workers
 * with it), and only its own parent sees it go: the parent marks the whole subtree.
 */
let deadTags: Int32Array | undefined;
const DEAD_TAGS = 1 << 20;
const BIT_WORDS = DEAD_TAGS / 32;
const HAS_CHILDREN = BIT_WORDS;
const PARENT = 2 * BIT_WORDS;

function tagMemory(words: number): Int32Array {
  const SAB = (globalThis as unknown as { SharedArrayBuffer?: new (n: number) => ArrayBuffer }).SharedArrayBuffer;
  return new Int32Array(SAB ? new SAB(words * 4) : new ArrayBuffer(words * 4));
}

/** Allocates a tag for a new thread, from the counter its whole OS process shares. */
export function _allocateTag(shared: boolean): { tag: number; counter: Int32Array | undefined; dead: Int32Array | undefined } {
  const counter = _sharedCounter();
  // The parent table only matters where threads share memory; untouched pages of it cost nothing.
  deadTags ??= tagMemory(typeof (globalThis as { SharedArrayBuffer?: unknown }).SharedArrayBuffer === 'function' ? PARENT + DEAD_TAGS : PARENT);
  const tag = Atomics.add(counter, 0, 1) + 1;
  // Only a thread on shared memory ends with this one (a process lives on until it sees its channel close).
  if (shared && deadTags.length > PARENT && tag < DEAD_TAGS && myTag > 0 && myTag < DEAD_TAGS) {
    Atomics.store(deadTags, PARENT + tag, myTag);
    Atomics.or(deadTags, HAS_CHILDREN + (myTag >> 5), 1 << (myTag & 31));
  }
  return { tag, counter: shared ? counter : undefined, dead: shared ? deadTags : undefined };
}

/**
 * The counter every thread of this OS process shares. Word 0: the last tag given out. Word 1:
 * how many threads spin right now (see futex.ts).
 */
export function _sharedCounter(): Int32Array {
  if (!tagCounter) {
    tagCounter = tagMemory(2);
    Atomics.store(tagCounter, 0, myTag);
  }
  return tagCounter;
}

/** A number no other tag of this OS process has, from the counter its threads share (for callers through an endpoint). */
export function _nextTagNumber(): number {
  return Atomics.add(_sharedCounter(), 0, 1) + 1;
}

/** Called by the worker loop with what the parent allocated. */
export function _setRealmTag(tag: number, counter: Int32Array | undefined, dead: Int32Array | undefined): void {
  myTag = tag;
  if (counter) tagCounter = counter;
  if (dead) deadTags = dead;
}

/**
 * Marks a thread's tag as ended (its parent does, when the worker is gone), and with it every
 * thread it started that has not ended yet, and theirs; returns the tags it marked (`tag` first),
 * so the parent can let go of what any of them held.
 */
export function _markDead(tag: number): number[] {
  const ended = [tag];
  if (!deadTags || tag <= 0 || tag >= DEAD_TAGS) return ended;
  Atomics.or(deadTags, tag >> 5, 1 << (tag & 31));
  for (let i = 0; i < ended.length; i++) {
    const parent = ended[i]!;
    if ((Atomics.load(deadTags, HAS_CHILDREN + (parent >> 5)) & (1 << (parent & 31))) === 0) continue;
    // Children get tags after their parent's: look from there to the last tag given out.
    const last = Math.min(tagCounter ? Atomics.load(tagCounter, 0) : 0, DEAD_TAGS - 1);
    for (let t = parent + 1; t <= last; t++) {
      if (Atomics.load(deadTags, PARENT + t) === parent && !isDead(t)) {
        Atomics.or(deadTags, t >> 5, 1 << (t & 31));
        ended.push(t);
      }
    }
  }
  return ended;
}

/** Whether the thread with this tag has ended. */
export function isDead(tag: number): boolean {
  if (!deadTags || tag <= 0 || tag >= DEAD_TAGS) return false;
  return (Atomics.load(deadTags, tag >> 5) & (1 << (tag & 31))) !== 0;
}
