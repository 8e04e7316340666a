/**
 * `Semaphore` and `BoundedSemaphore`: Python's counters of permits, shareable with threads
 * and processes.
 */
import { deadlineOf, notify, spin, wait, type AbortSignalLike } from './futex.js';
import { checkWaitOptions, sendable, throwIfAborted, type AcquireOptions } from './lock.js';
import { registerShared, SharedObject, withSignal, type Origin } from './shared.js';
import { TimeoutError } from './errors.js';
import { describe } from './timeout.js';
import { _asyncDispose } from './_globals.js';
import { publishAll } from './publish.js';

const VALUE = 0;
const WAITERS = 1;
const BOUND = 2; // BoundedSemaphore: the initial value; -1 for an unbounded Semaphore
const WORDS = 4;


function checkValue(what: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > 0x7fffffff) {
    throw new RangeError(`${what}: expected an integer from ${min} and up, got ${describe(value)}`);
  }
  return value;
}

/**
 * Python's `Semaphore(value)`: `acquire()` takes a permit, waiting while there is none; `release(n)` gives permits back.
 * @example
 * const slots = new Semaphore(2); // at most two players at once
 */
export class Semaphore extends SharedObject {
  constructor(value: number | Origin = 1) {
    super(typeof value === 'number' ? { kind: 'new', words: WORDS } : value);
    if (typeof value === 'number' || value === undefined) {
      const v = checkValue(`Cannot create ${new.target.name}: value`, value, 0);
      Atomics.store(this.mem!, VALUE, v);
      Atomics.store(this.mem!, BOUND, new.target === BoundedSemaphore ? v : -1);
    }
  }

  protected get typeName(): string {
    return 'Semaphore';
  }

  /** Takes a permit. Resolves true when taken, false on timeout or when `blocking: false` finds none. */
  async acquire(options?: AcquireOptions): Promise<boolean> {
    const what = `Cannot acquire ${this.constructor.name}`;
    const o = checkWaitOptions(what, options);
    if (this.remote) return (await this.call('acquire', [sendable(options)], o.signal)) as boolean;
    const mem = this.mem!;
    const left = deadlineOf(o.timeout);
    for (;;) {
      // An aborted waiter (or a dead caller's served wait) must not take a permit on its way out.
      if (o.signal?.aborted) {
        this.#handOn(false);
        throwIfAborted(what, o.signal);
      }
      const v = Atomics.load(mem, VALUE);
      if (v > 0) {
        if (Atomics.compareExchange(mem, VALUE, v, v - 1) === v) return true;
        continue;
      }
      const ms = left();
      if (!o.blocking || ms === 0) return this.#handOn(false);
      if (spin(mem, VALUE, 0)) continue;
      Atomics.add(mem, WAITERS, 1);
      try {
        await wait(mem, VALUE, 0, ms, o.signal);
      } finally {
        Atomics.sub(mem, WAITERS, 1);
      }
      if (o.signal?.aborted) {
        this.#handOn(false);
        throwIfAborted(what, o.signal);
      }
    }
  }

  #handOn(result: boolean): boolean {
    const mem = this.mem!;
    if (Atomics.load(mem, VALUE) > 0 && Atomics.load(mem, WAITERS) > 0) notify(mem, VALUE, 1);
    return result;
  }

  /** Gives back `n` permits (Python 3.9's `release(n)`), waking as many waiters. */
  release(n = 1): void {
    const what = `Cannot release ${this.constructor.name}`;
    checkValue(`${what}: n`, n, 1);
    if (this.remote) {
      void this.call('release', [n]).catch(() => {});
      return;
    }
    publishAll();
    const mem = this.mem!;
    const bound = Atomics.load(mem, BOUND);
    for (;;) {
      const v = Atomics.load(mem, VALUE);
      if (bound >= 0 && v + n > bound) throw new RangeError(`${what}: released too many times (value ${v} + ${n} would exceed its initial value ${bound})`);
      if (Atomics.compareExchange(mem, VALUE, v, v + n) === v) break;
    }
    if (Atomics.load(mem, WAITERS) > 0) notify(mem, VALUE, n);
  }

  /** The permits available now (a snapshot). */
  get value(): number {
    if (this.remote) throw this.noSyncOnProxy('value', 'acquire({ blocking: false }) tells whether a permit was free');
    return Atomics.load(this.mem!, VALUE);
  }

  /** Runs `fn` holding a permit. */
  async withLock<T>(fn: () => T | Promise<T>, options?: AcquireOptions): Promise<T> {
    if (!(await this.acquire(options))) throw new TimeoutError(`Cannot acquire ${this.constructor.name}: timed out after ${options?.timeout} ms`);
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /** `await using` support: leaving the scope releases one permit. */
  async [_asyncDispose](): Promise<void> {
    this.release();
  }

  _serve(method: string, args: readonly unknown[], _who: number, signal: AbortSignalLike): unknown {
    if (method === 'acquire') return this.acquire(withSignal(args[0], signal));
    if (method === 'release') return this.release(args[0] as number);
    throw new Error(`${this.constructor.name} has no remote method ${method}`);
  }

  /** An `acquire` hands a permit over: if its caller died before hearing so, the permit comes back. */
  _handsOver(method: string): boolean {
    return method === 'acquire';
  }

  _giveBack(method: string, value: unknown): void {
    if (method === 'acquire' && value === true) this.release();
  }
}

/** Python's `BoundedSemaphore`: releasing beyond the initial value throws. */
export class BoundedSemaphore extends Semaphore {
  protected override get typeName(): string {
    return 'BoundedSemaphore';
  }
}

registerShared('Semaphore', (origin) => new Semaphore(origin));
registerShared('BoundedSemaphore', (origin) => new BoundedSemaphore(origin));
