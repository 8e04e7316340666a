/**
 * `Semaphore` and `BoundedSemaphore`: Python's counters of permits, shareable with threads
 * and processes. A permit counts as held by the thread or process that acquired it until that
 * same thread or process releases one; permits still held when a holder ends come back (a robust
 * semaphore, as threadkit's Lock is a robust mutex), unless the semaphore was made with
 * `{ robust: false }`.
 */
import { deadlineOf, notify, spin, wait, type AbortSignalLike } from './futex.js';
import type { AcquireOptions } from './lock.js';
import { isOrigin, registerShared, sendable, SharedObject, throwIfAborted, withSignal, type Origin } from './shared.js';
import { ThreadkitError, TimeoutError } from './errors.js';
import { _asCaller, currentCaller } from './tags.js';
import { checkInteger, checkOptionsObject, checkWaitOptions, describe } from './validate.js';
import { _asyncDispose } from './_globals.js';
import { publishAll } from './publish.js';

const VALUE = 0;
const WAITERS = 1;
const BOUND = 2; // BoundedSemaphore: the initial value; -1 for an unbounded Semaphore
const DIED = 3; // permits that came back from holders that ended, not yet taken again
const HOLDERS = 4; // how many holder slots follow (0: not robust)
const FIRST_HOLDER = 8;
// A holder slot: the holder's tag (0 when free) and how many permits it holds.
const HOLDER = 2;
const MAX = 0x7fffffff;

/** Options of `new Semaphore()` and `new BoundedSemaphore()`. */
export interface SemaphoreOptions {
  /**
   * Permits held by a thread or process that ends (dies, or returns without releasing them) come
   * back, and the next taker's {@link Semaphore.ownerDied} is true. Turn it off for a semaphore
   * that counts events rather than guards a resource (one side releases, the other acquires for
   * good), so that a consumer's end gives back nothing it took. @default true
   */
  readonly robust?: boolean;
  /**
   * How many holders are tracked at once (a permit taken while every slot is in use is not
   * given back if its holder dies). @default the initial value, at least 16 and at most 256
   */
  readonly maxHolders?: number;
}

/** The words `'acquire'` answers a proxy with: the permit was taken from a holder that had ended. */
const TOOK_FROM_DEAD = 'died';

/**
 * Python's `Semaphore(value)`: `acquire()` takes a permit, waiting while there is none; `release(n)` gives permits back.
 * @example
 * const slots = new Semaphore(2); // at most two players at once
 */
export class Semaphore extends SharedObject {
  #ownerDied = false;

  constructor(value?: number, options?: SemaphoreOptions);
  /** @internal A revived copy. */
  constructor(origin: Origin);
  constructor(value: number | Origin = 1, options?: SemaphoreOptions) {
    const revived = isOrigin(value);
    const what = `Cannot create ${new.target.name}`;
    const v = revived ? 0 : checkInteger(what, 'value', value, 0);
    const o = revived ? {} : checkOptionsObject<SemaphoreOptions>(what, options, ['robust', 'maxHolders']);
    if (o.robust !== undefined && typeof o.robust !== 'boolean') throw new TypeError(`${what}: robust must be a boolean, got ${describe(o.robust)}`);
    const holders =
      o.robust === false ? 0 : o.maxHolders === undefined ? Math.min(256, Math.max(16, v)) : checkInteger(what, 'maxHolders', o.maxHolders, 1, 1 << 16);
    super(revived ? value : { kind: 'new', words: FIRST_HOLDER + HOLDER * holders });
    if (!revived) {
      const mem = this.mem!;
      Atomics.store(mem, VALUE, v);
      Atomics.store(mem, BOUND, new.target === BoundedSemaphore || new.target.prototype instanceof BoundedSemaphore ? v : -1);
      Atomics.store(mem, HOLDERS, holders);
    }
  }

  protected get typeName(): string {
    return 'Semaphore';
  }

  /**
   * Whether the last `acquire()` through this object took a permit that had come back from a
   * holder that ended holding it: what the permit guards may be half-updated.
   */
  get ownerDied(): boolean {
    return this.#ownerDied;
  }

  /** Takes a permit. Resolves true when taken, false on timeout or when `blocking: false` finds none. */
  async acquire(options?: AcquireOptions): Promise<boolean> {
    // Whose permit it becomes: read before the first await (a served call runs as its caller).
    const who = currentCaller();
    const what = `Cannot acquire ${this.constructor.name}`;
    const o = checkWaitOptions(what, options);
    if (this.remote) {
      const answer = await this.call('acquire', [sendable(options)], o.signal);
      this.#ownerDied = answer === TOOK_FROM_DEAD;
      return answer !== false;
    }
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
        if (Atomics.compareExchange(mem, VALUE, v, v - 1) === v) return this.#took(who);
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

  /** A permit was just taken for `who`: count it as theirs, and tell whether it came back from a holder that ended. */
  #took(who: number): true {
    const mem = this.mem!;
    this.#hold(who);
    let died = Atomics.load(mem, DIED);
    while (died > 0) {
      const was = Atomics.compareExchange(mem, DIED, died, died - 1);
      if (was === died) break;
      died = was;
    }
    this.#ownerDied = died > 0;
    return true;
  }

  #handOn(result: boolean): boolean {
    const mem = this.mem!;
    if (Atomics.load(mem, VALUE) > 0 && Atomics.load(mem, WAITERS) > 0) notify(mem, VALUE, 1);
    return result;
  }

  /** Counts one more permit as held by `who` (nothing when not robust, or when every slot is taken). */
  #hold(who: number): void {
    const mem = this.mem!;
    const end = FIRST_HOLDER + HOLDER * Atomics.load(mem, HOLDERS);
    for (let at = FIRST_HOLDER; at < end; at += HOLDER) {
      if (Atomics.load(mem, at) === who) {
        Atomics.add(mem, at + 1, 1);
        return;
      }
    }
    for (let at = FIRST_HOLDER; at < end; at += HOLDER) {
      if (Atomics.load(mem, at) === 0 && Atomics.compareExchange(mem, at, 0, who) === 0) {
        Atomics.add(mem, at + 1, 1);
        return;
      }
    }
  }

  /** `who` gives back up to `n` of the permits it holds; its slot is freed once it holds none. */
  #unhold(who: number, n: number): void {
    const mem = this.mem!;
    const end = FIRST_HOLDER + HOLDER * Atomics.load(mem, HOLDERS);
    for (let at = FIRST_HOLDER; at < end; at += HOLDER) {
      if (Atomics.load(mem, at) !== who) continue;
      const held = Atomics.load(mem, at + 1);
      const left = held - Math.min(n, held);
      Atomics.store(mem, at + 1, left);
      if (left === 0) Atomics.compareExchange(mem, at, who, 0);
      return;
    }
  }

  /** Gives back `n` permits (Python 3.9's `release(n)`), waking as many waiters. */
  release(n = 1): void {
    const what = `Cannot release ${this.constructor.name}`;
    checkInteger(what, 'n', n, 1);
    if (this.remote) {
      this.fire('release', [n]);
      return;
    }
    publishAll();
    const mem = this.mem!;
    this.#add(n, what);
    this.#unhold(currentCaller(), n);
    if (Atomics.load(mem, WAITERS) > 0) notify(mem, VALUE, n);
  }

  /** Adds `n` permits; throws when that would pass the bound (or the counter's range). */
  #add(n: number, what: string): void {
    const mem = this.mem!;
    const bound = Atomics.load(mem, BOUND);
    for (;;) {
      const v = Atomics.load(mem, VALUE);
      if (bound >= 0 && v + n > bound)
        throw new RangeError(
          `${what}: released too many times (value ${v} + ${n} would exceed its initial value ${bound}); release only the permits acquire() gave you, or use a Semaphore, which has no bound`,
        );
      if (v + n > MAX)
        throw new RangeError(`${what}: value ${v} + ${n} would exceed ${MAX}, the most permits a semaphore holds; n must be at most ${MAX - v} now`);
      if (Atomics.compareExchange(mem, VALUE, v, v + n) === v) return;
    }
  }

  /** The permits available now (a snapshot). */
  get value(): number {
    if (this.remote) throw this.noSyncOnProxy('value', 'acquire({ blocking: false }) tells whether a permit was free');
    return Atomics.load(this.mem!, VALUE);
  }

  /** Runs `fn` holding a permit. */
  async withLock<T>(fn: () => T | Promise<T>, options?: AcquireOptions): Promise<T> {
    if (typeof fn !== 'function')
      throw new TypeError(`Cannot run withLock on ${this.constructor.name}: fn must be the function to run holding a permit, got ${describe(fn)}`);
    if (!(await this.acquire(options))) {
      throw new TimeoutError(
        `Cannot acquire ${this.constructor.name}: ${options?.blocking === false ? 'no permit is free (blocking: false)' : `timed out after ${options?.timeout} ms`}`,
      );
    }
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

  _serve(method: string, args: readonly unknown[], who: number, signal: AbortSignalLike): unknown {
    if (method === 'acquire') {
      return _asCaller(who, async () => {
        const got = await this.acquire(withSignal(args[0], signal));
        return got && this.#ownerDied ? TOOK_FROM_DEAD : got;
      });
    }
    if (method === 'release') return _asCaller(who, () => this.release(args[0] as number));
    throw new ThreadkitError(`${this.constructor.name} has no remote method ${method}`);
  }

  /** An `acquire` hands a permit over: if its caller died before hearing so, the permit comes back. */
  _handsOver(method: string): boolean {
    return method === 'acquire';
  }

  _giveBack(method: string, value: unknown, who: number, delivered: boolean): void {
    if (method !== 'acquire' || value === false) return;
    // Never had by its caller: back as it was. Maybe had (`delivered`): back as a dead holder's,
    // and not at all where dead holders' permits do not come back.
    if (Atomics.load(this.mem!, HOLDERS) > 0) this._releaseIfHeldBy(who, delivered, 1);
    else if (!delivered) this.release();
  }

  /**
   * The holder `who` ended: the permits it still held come back (at most `most`), and while they
   * wait to be taken again, a taker's `ownerDied` is true (`died`: false when they come back from
   * a caller that never got to use them). Returns whether any came back.
   */
  override _releaseIfHeldBy(who: number, died = true, most = MAX): boolean {
    const mem = this.mem;
    if (!mem || who === 0) return false;
    const end = FIRST_HOLDER + HOLDER * Atomics.load(mem, HOLDERS);
    for (let at = FIRST_HOLDER; at < end; at += HOLDER) {
      if (Atomics.load(mem, at) !== who) continue;
      const held = Atomics.load(mem, at + 1);
      const back = Math.min(held, most);
      Atomics.store(mem, at + 1, held - back);
      if (held === back) Atomics.compareExchange(mem, at, who, 0);
      if (back === 0) return false;
      // A bounded semaphore never goes past its bound, even when its permits were handed around.
      const bound = Atomics.load(mem, BOUND);
      let v = Atomics.load(mem, VALUE);
      let added = 0;
      for (;;) {
        added = Math.min(back, (bound >= 0 ? bound : MAX) - v);
        if (added <= 0) return false;
        const was = Atomics.compareExchange(mem, VALUE, v, v + added);
        if (was === v) break;
        v = was;
      }
      if (died) Atomics.add(mem, DIED, added);
      if (Atomics.load(mem, WAITERS) > 0) notify(mem, VALUE, added);
      return true;
    }
    return false;
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
