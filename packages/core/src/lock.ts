/**
 * `Lock` and `RLock`: Python's primitive and reentrant locks, shareable with threads and
 * processes by passing them in `args`. Waits are async (`await lock.acquire()`), so no event
 * loop ever blocks.
 */
import { InvalidStateError, ThreadkitError, TimeoutError } from './errors.js';
import { deadlineOf, notify, spin, wait, type AbortSignalLike } from './futex.js';
import { checkNoArguments, registerShared, sendable, SharedObject, throwIfAborted, withSignal, type Origin, type WaitOptions } from './shared.js';
import { _asCaller, currentCaller, isDead } from './tags.js';
import { checkWaitOptions, describe } from './validate.js';
import { _asyncDispose } from './_globals.js';
import { publishAll } from './publish.js';

/** Options of `acquire()`: Python's `blocking` and `timeout`, plus an `AbortSignal`. */
export interface AcquireOptions extends WaitOptions {
  /** `false`: take it only if it is free right now. @default true */
  readonly blocking?: boolean;
}

// Words of a lock: who holds it (0 when free) and how many wait.
const OWNER = 0;
const WAITERS = 1;
const COUNT = 2; // RLock: recursion depth
const DIED = 3; // 1 when the last holder died holding it, until someone takes it
const WORDS = 4;
const TRUE = Promise.resolve(true);
/** What a served `acquire` answers a proxy when it took the lock from a holder that died (else a boolean). */
const TOOK_FROM_DEAD = 'died';

/**
 * Tries to take the word at OWNER for `who`, waiting as the options say. The shared
 * acquisition loop of Lock and RLock (and of Condition's re-acquire).
 */
async function acquireWord(
  mem: Int32Array,
  who: number,
  what: string,
  options: { timeout: number | undefined; signal: AbortSignalLike | undefined; blocking: boolean },
): Promise<boolean> {
  if (Atomics.compareExchange(mem, OWNER, 0, who) === 0) return tookAlive(mem, who);
  throwIfAborted(what, options.signal);
  if (!options.blocking) return false;
  const left = deadlineOf(options.timeout);
  for (;;) {
    const ms = left();
    if (ms === 0) return handOn(mem, false);
    const holder = Atomics.load(mem, OWNER);
    if (holder !== 0 && !spin(mem, OWNER, holder)) {
      Atomics.add(mem, WAITERS, 1);
      try {
        await wait(mem, OWNER, holder, ms, options.signal);
      } finally {
        Atomics.sub(mem, WAITERS, 1);
      }
    }
    // An aborted waiter (or a dead caller's served wait) must not take the lock on its way out.
    if (options.signal?.aborted) {
      handOn(mem, false);
      throwIfAborted(what, options.signal);
    }
    if (Atomics.compareExchange(mem, OWNER, 0, who) === 0) return tookAlive(mem, who);
  }
}

/**
 * The lock was just taken for `who`. A runtime may report a thread's end before the thread has
 * stopped (Deno's Web Workers run on briefly after `terminate()`): a thread its parent has
 * already declared dead, and whose locks it has already released, must not keep one, since
 * nobody would release it again. It gives the lock back and goes no further.
 */
function tookAlive(mem: Int32Array, who: number): boolean | Promise<boolean> {
  if (!isDead(who)) return true;
  releaseWord(mem);
  return new Promise<boolean>(() => {});
}

/** A waiter leaving without the lock passes on a wake-up it may have taken, so none is lost. */
function handOn(mem: Int32Array, result: boolean): boolean {
  if (Atomics.load(mem, OWNER) === 0 && Atomics.load(mem, WAITERS) > 0) notify(mem, OWNER, 1);
  return result;
}

function releaseWord(mem: Int32Array): void {
  publishAll();
  Atomics.store(mem, OWNER, 0);
  if (Atomics.load(mem, WAITERS) > 0) notify(mem, OWNER, 1);
}

/**
 * Python's `Lock`: held by one holder at a time; any thread may release it.
 * @example
 * const lock = new Lock();
 * await lock.withLock(() => console.log('one at a time'));
 */
export class Lock extends SharedObject {
  /** How many times this realm holds it through a proxy (a proxy cannot read the owner's memory). */
  #heldHere = 0;

  constructor();
  /** @internal A revived copy. */
  constructor(origin: Origin);
  constructor(...args: unknown[]) {
    checkNoArguments(new.target.name, args);
    super((args[0] as Origin | undefined) ?? { kind: 'new', words: WORDS });
  }

  protected get typeName(): string {
    return 'Lock';
  }

  /** Takes the lock, waiting as long as `timeout` allows. Resolves true when taken, false on timeout or when `blocking: false` finds it held. */
  acquire(options?: AcquireOptions): Promise<boolean> {
    // The fast path, without an async frame: the lock is free.
    if (options === undefined && this.mem && Atomics.compareExchange(this.mem, OWNER, 0, currentCaller()) === 0) {
      this._tookOver();
      return TRUE;
    }
    return this.#acquire(options);
  }

  #ownerDied = false;

  /**
   * Whether the last `acquire()` through this object took the lock from a holder that had died
   * holding it (a robust mutex's EOWNERDEAD): what the lock protects may be half-updated.
   */
  get ownerDied(): boolean {
    return this.#ownerDied;
  }

  /** Called right after this realm took the lock: reads (and clears) the died-holding flag. */
  protected _tookOver(): void {
    const mem = this.mem!;
    this.#ownerDied = Atomics.load(mem, DIED) !== 0 && Atomics.exchange(mem, DIED, 0) === 1;
  }

  async #acquire(options: AcquireOptions | undefined): Promise<boolean> {
    const what = `Cannot acquire ${this.constructor.name}`;
    const o = checkWaitOptions(what, options);
    if (this.remote) {
      const answer = await this.call('acquire', [sendable(options)], o.signal);
      this.#ownerDied = answer === TOOK_FROM_DEAD;
      if (answer === false) return false;
      this.#heldHere++;
      return true;
    }
    const got = await acquireWord(this.mem!, currentCaller(), what, o);
    if (got) this._tookOver();
    return got;
  }

  /** Releases the lock. Throws if it is not held. */
  release(): void {
    if (this.remote) {
      if (this.#heldHere === 0)
        throw new InvalidStateError(`Cannot release ${this.constructor.name}: it is not held here; release only what acquire() gave you`);
      this.#heldHere--;
      this.fire('release', []);
      return;
    }
    if (Atomics.load(this.mem!, OWNER) === 0)
      throw new InvalidStateError(`Cannot release ${this.constructor.name}: it is not held; release only what acquire() gave you`);
    releaseWord(this.mem!);
  }

  /** Whether it is held by anyone. */
  locked(): boolean {
    if (this.remote) throw this.noSyncOnProxy('locked', 'acquire({ blocking: false }) tells whether it was free');
    return Atomics.load(this.mem!, OWNER) !== 0;
  }

  /** Runs `fn` while holding the lock, and releases it however `fn` ends. */
  async withLock<T>(fn: () => T | Promise<T>, options?: AcquireOptions): Promise<T> {
    if (typeof fn !== 'function')
      throw new TypeError(`Cannot run withLock on ${this.constructor.name}: fn must be the function to run holding it, got ${describe(fn)}`);
    if (!(await this.acquire(options))) {
      throw new TimeoutError(
        `Cannot acquire ${this.constructor.name}: ${options?.blocking === false ? 'it is held (blocking: false)' : `timed out after ${options?.timeout} ms`}`,
      );
    }
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /** `await using` support: leaving the scope releases the lock if it is held. */
  async [_asyncDispose](): Promise<void> {
    // Only this thread's hold: had the scope released it early, another holder's is not ours to drop.
    if (this.remote ? this.#heldHere > 0 : Atomics.load(this.mem!, OWNER) === currentCaller()) this.release();
  }

  /** Whether the realm `who` holds it. */
  _heldBy(who: number): boolean {
    return this.mem !== undefined && Atomics.load(this.mem, OWNER) === who;
  }

  /** Releases it for `who` however deep (RLock) and returns the depth to restore. */
  _releaseAll(who: number): number {
    if (!this._heldBy(who)) throw new InvalidStateError(`Cannot release ${this.constructor.name}: it is not held by this thread`);
    releaseWord(this.mem!);
    return 1;
  }

  /** Takes it back for `who` at a depth `_releaseAll` returned. Not abortable: Python re-acquires before it raises. */
  async _acquireAt(_depth: number, who: number): Promise<void> {
    await acquireWord(this.mem!, who, `Cannot acquire ${this.constructor.name}`, { timeout: undefined, signal: undefined, blocking: true });
  }

  /**
   * Releases the lock if the realm `who` holds it; returns whether it did. `died`: that realm
   * died holding it (the next taker is told, see {@link ownerDied}); false when it is given back
   * from a caller that never got to use it.
   */
  override _releaseIfHeldBy(who: number, died = true): boolean {
    if (!this.mem || Atomics.load(this.mem, OWNER) !== who) return false;
    if (died) Atomics.store(this.mem, DIED, 1);
    releaseWord(this.mem);
    return true;
  }

  _serve(method: string, args: readonly unknown[], who: number, signal: AbortSignalLike): unknown {
    switch (method) {
      case 'acquire':
        return _asCaller(who, async () => {
          const got = await this.acquire(withSignal(args[0], signal));
          return got && this.#ownerDied ? TOOK_FROM_DEAD : got;
        });
      case 'release':
        return this.release();
      default:
        throw new ThreadkitError(`${this.constructor.name} has no remote method ${method}`);
    }
  }

  /** An `acquire` hands the lock over: if its caller died before hearing so, the lock comes back. */
  _handsOver(method: string): boolean {
    return method === 'acquire';
  }

  /** A caller that may have had the lock before it died (`delivered`) died holding it, as far as anyone can tell. */
  _giveBack(method: string, value: unknown, who: number, delivered: boolean): void {
    if (method === 'acquire' && value !== false) this._releaseIfHeldBy(who, delivered);
  }
}

/**
 * Python's `RLock`: the realm that holds it may acquire it again; it is free once released as
 * many times. Ownership is per thread (realm): async code in one thread shares its ownership.
 */
export class RLock extends Lock {
  protected override get typeName(): string {
    return 'RLock';
  }

  override async acquire(options?: AcquireOptions): Promise<boolean> {
    if (this.remote) return super.acquire(options);
    const what = 'Cannot acquire RLock';
    const o = checkWaitOptions(what, options);
    const mem = this.mem!;
    const who = currentCaller();
    if (Atomics.load(mem, OWNER) === who) {
      Atomics.add(mem, COUNT, 1);
      return true;
    }
    const got = await acquireWord(mem, who, what, o);
    if (got) {
      Atomics.store(mem, COUNT, 1);
      this._tookOver();
    }
    return got;
  }

  /** Releases one level; throws if this thread does not hold it. */
  override release(): void {
    if (this.remote) {
      super.release();
      return;
    }
    const mem = this.mem!;
    if (Atomics.load(mem, OWNER) !== currentCaller())
      throw new InvalidStateError('Cannot release RLock: it is not held by this thread; only its holder releases it');
    if (Atomics.sub(mem, COUNT, 1) === 1) releaseWord(mem);
  }

  override _releaseAll(who: number): number {
    if (!this._heldBy(who)) throw new InvalidStateError('Cannot release RLock: it is not held by this thread; only its holder releases it');
    const depth = Atomics.exchange(this.mem!, COUNT, 0);
    releaseWord(this.mem!);
    return depth;
  }

  override async _acquireAt(depth: number, who: number): Promise<void> {
    await super._acquireAt(depth, who);
    Atomics.store(this.mem!, COUNT, depth);
  }

  override _releaseIfHeldBy(who: number, died = true): boolean {
    if (!this.mem || Atomics.load(this.mem, OWNER) !== who) return false;
    Atomics.store(this.mem, COUNT, 0);
    if (died) Atomics.store(this.mem, DIED, 1);
    releaseWord(this.mem);
    return true;
  }

  override _serve(method: string, args: readonly unknown[], who: number, signal: AbortSignalLike): unknown {
    if (method === 'release') return _asCaller(who, () => this.release());
    return super._serve(method, args, who, signal);
  }
}

registerShared('Lock', (origin) => new Lock(origin));
registerShared('RLock', (origin) => new RLock(origin));
