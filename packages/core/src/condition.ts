/**
 * `Condition`: Python's condition variable over a Lock or RLock (an RLock by default),
 * shareable with threads and processes. Waiters are served first come, first served, and
 * `notify(n)` wakes at most n of them.
 */
import { InvalidStateError, ThreadkitError } from './errors.js';
import { deadlineOf, notify as wake, wait, type AbortSignalLike } from './futex.js';
import { marshal, revive, type MarshalContext } from './handle.js';
import { Lock, RLock, type AcquireOptions } from './lock.js';
import type { Endpoint } from './rpc.js';
import { _asCaller, currentCaller, isDead } from './tags.js';
import { isOrigin, registerShared, sendable, SharedObject, throwIfAborted, withSignal, type Origin, type WaitOptions } from './shared.js';
import { checkInteger, checkOptionsObject, checkWaitOptions, describe, WAIT_KEYS } from './validate.js';
import { _asyncDispose } from './_globals.js';

const NEXT_TICKET = 0;
const FIRST_SLOT = 2;
// A slot: its state word, the ticket that orders waiters, the waiting thread's tag, and the epoch
// of the notify that woke it (the next ticket at that moment: who was waiting then).
const SLOT = 4;
const TICKET = 1;
const OWNER = 2;
const EPOCH = 3;
const FREE = 0;
const WAITING = 1;
const NOTIFIED = 2;

/** What a served `wait` answers: `false`, or the epoch of the notify that woke it (kept to pass it on if its caller never hears). */
type Served = false | { readonly epoch: number };

/** Options of `new Condition()`. */
export interface ConditionOptions {
  /** How many threads may wait at once. @default 64 */
  readonly maxWaiters?: number;
}

/**
 * Python's `Condition(lock)`.
 * @example
 * const cond = new Condition();
 * await cond.withLock(async () => { while (!ready()) await cond.wait(); });
 */
export class Condition extends SharedObject {
  /** The lock this condition uses. */
  readonly lock: Lock;
  readonly #slots: number;

  constructor(lock?: Lock, options?: ConditionOptions);
  constructor(lock: Lock | undefined, options: ConditionOptions | undefined, origin?: Origin);
  constructor(lock?: Lock, options?: ConditionOptions, origin?: Origin) {
    const what = 'Cannot create Condition';
    if (origin !== undefined && !isOrigin(origin)) throw new TypeError(`${what}: it takes a lock and options, got a third argument ${describe(origin)}`);
    const o = checkOptionsObject<ConditionOptions>(what, options, ['maxWaiters']);
    const maxWaiters = o.maxWaiters === undefined ? 64 : checkInteger(what, 'maxWaiters', o.maxWaiters, 1, 1 << 20);
    if (lock !== undefined && lock !== null && !(lock instanceof Lock)) throw new TypeError(`${what}: lock must be a Lock or RLock, got ${describe(lock)}`);
    super(origin ?? { kind: 'new', words: FIRST_SLOT + SLOT * maxWaiters });
    this.lock = lock ?? new RLock();
    this.#slots = this.mem ? Math.floor((this.mem.length - FIRST_SLOT) / SLOT) : 0;
  }

  protected get typeName(): string {
    return 'Condition';
  }

  protected override extra(ctx: MarshalContext): unknown {
    return marshal(this.lock, ctx);
  }

  /** Acquires the underlying lock. */
  acquire(options?: AcquireOptions): Promise<boolean> {
    return this.lock.acquire(options);
  }

  /** Releases the underlying lock. */
  release(): void {
    this.lock.release();
  }

  /** Runs `fn` holding the underlying lock. */
  withLock<T>(fn: () => T | Promise<T>, options?: AcquireOptions): Promise<T> {
    return this.lock.withLock(fn, options);
  }

  /** `await using` support: leaving the scope releases the underlying lock. */
  async [_asyncDispose](): Promise<void> {
    await (this.lock as unknown as Record<symbol, () => Promise<void>>)[_asyncDispose]!();
  }

  /**
   * Releases the lock, waits until notified or `timeout` ms pass, and takes the lock back.
   * Resolves true when notified, false on timeout. Throws when the lock is not held.
   */
  async wait(options?: WaitOptions | number): Promise<boolean> {
    const opts = typeof options === 'number' ? { timeout: options } : options;
    const o = checkWaitOptions('Cannot wait on Condition', opts, WAIT_KEYS);
    if (this.remote) return ((await this.call('wait', [sendable(opts)], o.signal)) as Served | boolean) !== false;
    return (await this.#wait(currentCaller(), o.timeout, o.signal)) !== false;
  }

  async #wait(who: number, timeout: number | undefined, signal: AbortSignalLike | undefined): Promise<Served> {
    const what = 'Cannot wait on Condition';
    const mem = this.mem!;
    if (!this.lock._heldBy(who))
      throw new InvalidStateError(`${what}: its lock is not held by this thread; acquire it first (await cond.acquire() or cond.withLock(...))`);
    throwIfAborted(what, signal);
    let slot = -1;
    // A slot is claimed by writing our tag into its owner word, and becomes WAITING last: a thread
    // terminated half-way leaves a slot its parent can find by the tag and free.
    for (let i = 0; i < this.#slots; i++) {
      const owner = FIRST_SLOT + SLOT * i + OWNER;
      const tag = Atomics.compareExchange(mem, owner, 0, who);
      // A slot still tagged by a thread that has died (see #abandoned) is free to take.
      if (tag === 0 || (isDead(tag) && Atomics.compareExchange(mem, owner, tag, who) === tag)) {
        slot = FIRST_SLOT + SLOT * i;
        break;
      }
    }
    if (slot < 0) throw new RangeError(`${what}: more than ${this.#slots} threads wait on it; create it with { maxWaiters }`);
    Atomics.store(mem, slot + TICKET, Atomics.add(mem, NEXT_TICKET, 1));
    Atomics.store(mem, slot, WAITING);
    const depth = this.lock._releaseAll(who);
    const left = deadlineOf(timeout);
    try {
      while (Atomics.load(mem, slot) === WAITING) {
        const ms = left();
        if (ms === 0 || signal?.aborted) break;
        await wait(mem, slot, WAITING, ms, signal);
      }
    } finally {
      // A thread its parent has declared dead (one that runs on briefly after it was terminated,
      // see #abandoned) takes back nothing its parent has let go: nobody would let it go again.
      if (!isDead(who)) await this.lock._acquireAt(depth, who);
    }
    if (isDead(who)) {
      this.lock._releaseIfHeldBy(who, false);
      return false;
    }
    // Under the lock again: a notify that came after we stopped waiting still counts. (The slot is
    // still ours unless our caller was declared dead meanwhile, which freed it, and passed on a
    // notify it held; then it may be someone else's.)
    const mine = Atomics.load(mem, slot + OWNER) === who;
    const epoch = Atomics.load(mem, slot + EPOCH);
    const notified = mine && Atomics.exchange(mem, slot, FREE) === NOTIFIED;
    if (mine) Atomics.store(mem, slot + OWNER, 0);
    if (!notified) throwIfAborted(what, signal);
    return notified ? { epoch } : false;
  }

  /**
   * Waits until `predicate()` is true, re-checking after each notify. Resolves with the
   * predicate's last value (false-y when `timeout` ms passed first).
   */
  async waitFor<T>(predicate: () => T | Promise<T>, options?: WaitOptions | number): Promise<T> {
    if (typeof predicate !== 'function')
      throw new TypeError(`Cannot wait on Condition: predicate must be a function that says whether to stop waiting, got ${describe(predicate)}`);
    const opts = typeof options === 'number' ? { timeout: options } : options;
    const o = checkWaitOptions('Cannot wait on Condition', opts, WAIT_KEYS);
    const left = deadlineOf(o.timeout);
    let result = await predicate();
    while (!result) {
      const ms = left();
      if (ms === 0) break;
      await this.wait({ ...(ms === undefined ? {} : { timeout: ms }), ...(o.signal ? { signal: o.signal } : {}) });
      result = await predicate();
    }
    return result;
  }

  /** Wakes up to `n` waiters, longest waiting first. Throws when the lock is not held. */
  notify(n = 1): void {
    checkInteger('Cannot notify Condition', 'n', n, 0);
    if (this.remote) {
      this.fire('notify', [n]);
      return;
    }
    this.#notify(currentCaller(), n);
  }

  /** Wakes every waiter. Throws when the lock is not held. */
  notifyAll(): void {
    this.notify(this.#slots || Number.MAX_SAFE_INTEGER);
  }

  #notify(who: number, n: number): void {
    if (!this.lock._heldBy(who)) throw new InvalidStateError('Cannot notify Condition: its lock is not held by this thread; acquire it first');
    this.#wake(n, Atomics.load(this.mem!, NEXT_TICKET));
  }

  /**
   * Wakes up to `n` of the waiters that were waiting at `epoch` (their ticket is older), longest
   * waiting first. A slot is claimed for a notify by compare-and-swap, so a notification passed on
   * from a dead waiter (which happens without the lock) and a notify under the lock never pick the
   * same waiter.
   */
  #wake(n: number, epoch: number): void {
    const mem = this.mem!;
    while (n > 0) {
      let best = -1;
      let bestTicket = 0;
      for (let i = 0; i < this.#slots; i++) {
        const slot = FIRST_SLOT + SLOT * i;
        if (Atomics.load(mem, slot) !== WAITING || this.#abandoned(slot)) continue;
        const ticket = Atomics.load(mem, slot + TICKET);
        // Tickets wrap around: compare their difference as an int32.
        if (((ticket - epoch) | 0) >= 0) continue;
        if (best < 0 || ((ticket - bestTicket) | 0) < 0) {
          best = slot;
          bestTicket = ticket;
        }
      }
      if (best < 0) return;
      // The epoch goes first: whoever later finds this slot notified and its waiter dead passes it on within it.
      Atomics.store(mem, best + EPOCH, epoch);
      if (Atomics.compareExchange(mem, best, WAITING, NOTIFIED) !== WAITING) continue;
      wake(mem, best, 1);
      n--;
    }
  }

  /**
   * Whether a waiting slot belongs to no living thread; if so it is freed. A runtime may report
   * a thread's end before the thread has stopped (Deno's Web Workers run on briefly after
   * `terminate()`), so a thread terminated as it began to wait can claim its slot, or mark it
   * waiting, after its parent freed what it held: a notify must pass it by, not wake nobody.
   * (A living waiter tags its slot before marking it waiting, and clears the mark before the tag.)
   */
  #abandoned(slot: number): boolean {
    const mem = this.mem!;
    const owner = Atomics.load(mem, slot + OWNER);
    if (owner !== 0 && !isDead(owner)) return false;
    Atomics.compareExchange(mem, slot, WAITING, FREE);
    Atomics.compareExchange(mem, slot + OWNER, owner, 0);
    return true;
  }

  _serve(method: string, args: readonly unknown[], who: number, signal: AbortSignalLike): unknown {
    const o = withSignal(args[0], signal);
    // A proxy passed on (a process handing it to its own thread) forwards as that caller.
    if (this.remote) {
      return _asCaller(who, () => (method === 'wait' ? this.wait(o) : method === 'notify' ? this.notify(args[0] as number) : undefined));
    }
    switch (method) {
      case 'wait':
        return this.#wait(who, checkWaitOptions('Cannot wait on Condition', { timeout: o.timeout }).timeout, o.signal);
      case 'notify':
        return _asCaller(who, () => this.#notify(who, args[0] as number));
      default:
        throw new ThreadkitError(`Condition has no remote method ${method}`);
    }
  }

  /** A `wait` ends holding the lock: if its caller died before hearing so, the lock is let go. */
  _handsOver(method: string): boolean {
    return method === 'wait';
  }

  /** A notified `wait` whose caller died before hearing so passes the notification on, then lets the lock go. */
  _giveBack(method: string, value: unknown, who: number, delivered: boolean): void {
    if (method !== 'wait') return;
    // Passed on even if the waiter may have had it: a spurious wake-up is allowed, a lost one is not.
    if (this.mem && typeof value === 'object' && value !== null) this.#wake(1, (value as { epoch: number }).epoch);
    this.lock._releaseIfHeldBy(who, delivered);
  }

  /** A wait aborted by its caller's death re-took the lock on its way out: let it go. */
  _abandoned(method: string, who: number): void {
    if (method === 'wait') this.lock._releaseIfHeldBy(who, false);
  }

  /**
   * The caller `who` (a thread, or a process's caller through a proxy) died: its slots are freed at
   * once, so a notify from now on goes to a living waiter, and a notification it had been given
   * but had not taken passes on to the next waiter of that notify's moment; its hold on the lock
   * is let go. (A dead process's served wait, still unwinding, then finds its slot gone.)
   */
  override _releaseIfHeldBy(who: number, died = true): boolean {
    const mem = this.mem;
    if (!mem) return false;
    for (let i = 0; who !== 0 && i < this.#slots; i++) {
      const slot = FIRST_SLOT + SLOT * i;
      if (Atomics.load(mem, slot + OWNER) !== who) continue;
      const epoch = Atomics.load(mem, slot + EPOCH);
      const state = Atomics.exchange(mem, slot, FREE);
      Atomics.compareExchange(mem, slot + OWNER, who, 0);
      if (state === NOTIFIED) this.#wake(1, epoch);
    }
    return this.lock._releaseIfHeldBy(who, died);
  }
}

registerShared('Condition', (origin, extra, endpoint: Endpoint) => new Condition(revive(extra, endpoint) as Lock, {}, origin));
