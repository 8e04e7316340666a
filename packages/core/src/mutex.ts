/**
 * The internal spin mutex that guards a shared structure (a queue's ring, a barrier's
 * counters) for a few hundred nanoseconds at a time. Never held across an `await`, so a
 * holder is always running: spinning is cheaper than sleeping. Where blocking is allowed
 * (workers, Node's main thread) a long wait yields the core with a short `Atomics.wait`.
 */
import { isShared } from './futex.js';

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

/** Takes the mutex in `i32[index]` (0 free, 1 held, 2 held with sleepers). */
export function lockSync(i32: Int32Array, index: number): void {
  if (Atomics.compareExchange(i32, index, 0, 1) === 0) return;
  // Ordinary memory has one realm and no awaits inside critical sections: it is never contended.
  if (!isShared(i32)) throw new Error('threadkit internal error: an unshared mutex was found held');
  for (let round = 0; ; round++) {
    for (let i = 0; i < 200; i++) {
      if (Atomics.load(i32, index) === 0 && Atomics.compareExchange(i32, index, 0, 1) === 0) return;
    }
    if (round > 8 && canBlock()) {
      // Mark "held with sleepers" and sleep briefly; the holder's unlock wakes us.
      if (Atomics.exchange(i32, index, 2) === 0) {
        // We took it while marking: keep the sleeper mark (unlock will notify, harmlessly).
        return;
      }
      Atomics.wait(i32, index, 2, 1);
    }
  }
}

/** Releases the mutex in `i32[index]`. */
export function unlockSync(i32: Int32Array, index: number): void {
  if (Atomics.exchange(i32, index, 0) === 2) Atomics.notify(i32, index, 1);
}
