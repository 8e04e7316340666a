/**
 * The internal spin mutex that guards a shared structure (a queue's ring, a barrier's
 * counters) for a few hundred nanoseconds at a time. Never held across an `await`, so a
 * holder is always running: spinning is cheaper than sleeping. Where blocking is allowed
 * (workers, Node's main thread) a long wait yields the core with a short `Atomics.wait`.
 */
import { ThreadkitError } from './errors.js';
import { isShared } from './futex.js';
import { isDead, realmTag } from './tags.js';

let blockingAllowed: boolean | undefined;

/** Whether `Atomics.wait` may block here (false on a browser page's main thread). */
export function canBlock(): boolean {
  if (blockingAllowed === undefined) {
    try {
      const probe = new Int32Array(new (globalThis as unknown as { SharedArrayBuffer: new (n: number) => ArrayBuffer }).SharedArrayBuffer(4));
      Atomics.wait(probe, 0, 1, 0);
      blockingAllowed = true;
    } catch {
      blockingAllowed = false;
    }
  }
  return blockingAllowed;
}

/**
 * Takes the mutex in `i32[index]`, which holds the tag of the thread that has it (0 when free).
 * A thread terminated inside its critical section leaves its tag behind: once its parent has
 * marked it dead, the next taker takes the mutex over, so a queue never hangs on a dead holder.
 * (Every critical section commits with its last stores, so what the dead holder left is whole.)
 */
export function lockSync(i32: Int32Array, index: number, sleepers: number): void {
  const me = realmTag();
  if (Atomics.compareExchange(i32, index, 0, me) === 0) return;
  // Ordinary memory has one realm and no awaits inside critical sections: it is never contended.
  if (!isShared(i32)) throw new ThreadkitError('threadkit internal error: an unshared mutex was found held');
  for (let round = 0; ; round++) {
    for (let i = 0; i < 200; i++) {
      if (Atomics.load(i32, index) === 0 && Atomics.compareExchange(i32, index, 0, me) === 0) return;
    }
    const owner = Atomics.load(i32, index);
    if (owner !== 0 && (round & 15) === 15 && isDead(owner) && Atomics.compareExchange(i32, index, owner, me) === owner) return;
    // A holder that is not running (descheduled, or dead and not yet marked): sleep until it
    // unlocks (it wakes sleepers) or 1 ms passes (to look again for a dead holder).
    if (round > 8 && owner !== 0 && canBlock()) {
      Atomics.add(i32, sleepers, 1);
      Atomics.wait(i32, index, owner, 1);
      Atomics.sub(i32, sleepers, 1);
    }
  }
}

/** Releases the mutex in `i32[index]`, waking one sleeper counted in `i32[sleepers]`. */
export function unlockSync(i32: Int32Array, index: number, sleepers: number): void {
  Atomics.store(i32, index, 0);
  if (Atomics.load(i32, sleepers) > 0) Atomics.notify(i32, index, 1);
}
