// The reference mutex: a few lines of Atomics, to show what a lock over SharedArrayBuffer costs
// before any API is put on it. Drepper's "futexes are tricky" mutex #2 with a short spin:
// state 0 = unlocked, 1 = locked, 2 = locked and someone may be waiting in Atomics.wait.
export class AtomicsMutex {
  /** @param {Int32Array} i32 shared; @param {number} index the state word; @param {number} spins tries before sleeping */
  constructor(i32, index = 0, spins = 100) {
    this.a = i32;
    this.i = index;
    this.spins = spins;
  }

  lock() {
    const { a, i } = this;
    let c = Atomics.compareExchange(a, i, 0, 1);
    if (c === 0) return;
    for (let s = 0; s < this.spins; s++) {
      c = Atomics.load(a, i);
      if (c === 0 && (c = Atomics.compareExchange(a, i, 0, 1)) === 0) return;
    }
    if (c !== 2) c = Atomics.exchange(a, i, 2);
    while (c !== 0) {
      Atomics.wait(a, i, 2);
      c = Atomics.exchange(a, i, 2);
    }
  }

  unlock() {
    const { a, i } = this;
    if (Atomics.sub(a, i, 1) !== 1) {
      Atomics.store(a, i, 0);
      Atomics.notify(a, i, 1);
    }
  }
}
