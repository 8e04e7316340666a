/**
 * `Barrier`: Python's rendezvous for a fixed number of parties, shareable with threads and
 * processes. Each `wait()` gets a distinct index; a timeout, `abort()` or `reset()` breaks it
 * and every waiter gets `BrokenBarrierError`.
 */
import { BrokenBarrierError, ThreadkitError } from './errors.js';
import { deadlineOf, notify, wait, type AbortSignalLike } from './futex.js';

import { lockSync, unlockSync } from './mutex.js';
import { isOrigin, registerShared, sendable, SharedObject, throwIfAborted, withSignal, type Origin, type WaitOptions } from './shared.js';
import { checkInteger, checkOptionsObject, checkTimeout, checkWaitOptions, WAIT_KEYS } from './validate.js';

const MUTEX = 0;
const COUNT = 1; // parties waiting in this generation
const GENERATION = 2; // bumped when a generation is released or reset: waiters sleep on it
const BROKEN = 3; // 1 while broken (abort, or a timed-out wait), until reset()
const PARTIES = 4;
const TIMEOUT = 5; // default timeout in ms, -1 for none
const OUTCOMES = 6; // 32 bits: bit g % 32 set when generation g was broken rather than released
const SLEEPERS = 7; // threads sleeping on MUTEX
const WORDS = 8;

/** Options of `new Barrier()`. */
export interface BarrierOptions {
  /** The default timeout of `wait()`, in ms. @default none */
  readonly timeout?: number;
}

/**
 * Python's `Barrier(parties)`.
 * @example
 * const start = new Barrier(3);
 * const index = await start.wait(); // 0, 1 or 2: distinct for each party
 */
export class Barrier extends SharedObject {
  constructor(parties: number, options?: BarrierOptions);
  /** @internal A revived copy. */
  constructor(parties: Origin);
  constructor(parties: number | Origin, options?: BarrierOptions) {
    const revived = isOrigin(parties);
    const what = 'Cannot create Barrier';
    const n = revived ? 0 : checkInteger(what, 'parties', parties, 1);
    const timeout = revived ? undefined : checkTimeout(what, checkOptionsObject<BarrierOptions>(what, options, ['timeout']).timeout);
    super(revived ? parties : { kind: 'new', words: WORDS });
    if (!revived) {
      Atomics.store(this.mem!, PARTIES, n);
      Atomics.store(this.mem!, TIMEOUT, timeout === undefined ? -1 : Math.min(timeout, 0x7fffffff));
    }
  }

  protected get typeName(): string {
    return 'Barrier';
  }

  /** How many parties must call `wait()` to release it. */
  get parties(): number {
    if (this.remote) throw this.noSyncOnProxy('parties', 'pass the number along with the Barrier');
    return Atomics.load(this.mem!, PARTIES);
  }

  /** How many parties wait now. */
  get nWaiting(): number {
    if (this.remote) throw this.noSyncOnProxy('nWaiting', 'there is no asynchronous form');
    return Atomics.load(this.mem!, COUNT);
  }

  /** Whether it is broken. */
  get broken(): boolean {
    if (this.remote) throw this.noSyncOnProxy('broken', 'wait() throws BrokenBarrierError when it is');
    return Atomics.load(this.mem!, BROKEN) === 1;
  }

  /**
   * Waits until all parties have called `wait()`; resolves with this party's index (0 to
   * parties − 1, distinct for each). Throws `BrokenBarrierError` when the barrier is or becomes
   * broken, including when this wait times out (which breaks it for everyone).
   */
  async wait(options?: WaitOptions | number): Promise<number> {
    const opts = typeof options === 'number' ? { timeout: options } : options;
    const o = checkWaitOptions('Cannot wait on Barrier', opts, WAIT_KEYS);
    if (this.remote) return (await this.call('wait', [sendable(opts)], o.signal)) as number;
    const mem = this.mem!;
    const fallback = Atomics.load(mem, TIMEOUT);
    const timeout = o.timeout ?? (fallback >= 0 ? fallback : undefined);
    lockSync(mem, MUTEX, SLEEPERS);
    if (Atomics.load(mem, BROKEN) === 1) {
      unlockSync(mem, MUTEX, SLEEPERS);
      throw new BrokenBarrierError('Cannot wait on Barrier: it is broken; reset() it first');
    }
    const generation = Atomics.load(mem, GENERATION);
    const index = Atomics.add(mem, COUNT, 1);
    if (index + 1 === Atomics.load(mem, PARTIES)) {
      this.#advance(generation, false);
      unlockSync(mem, MUTEX, SLEEPERS);
      notify(mem, GENERATION);
      return index;
    }
    unlockSync(mem, MUTEX, SLEEPERS);
    const left = deadlineOf(timeout);
    for (;;) {
      if (Atomics.load(mem, GENERATION) !== generation) {
        if (this.#wasBroken(generation)) throw new BrokenBarrierError('Barrier was reset while this party waited');
        return index;
      }
      if (Atomics.load(mem, BROKEN) === 1) throw new BrokenBarrierError('Barrier was broken while this party waited (abort, or another party timed out)');
      const ms = left();
      if (ms === 0 || o.signal?.aborted) {
        // The last party may have just arrived: then this round was released, not broken.
        if (!this.#break(generation)) continue;
        throwIfAborted('Cannot wait on Barrier', o.signal);
        throw new BrokenBarrierError(
          `Barrier timed out after ${timeout} ms with ${Atomics.load(mem, COUNT)} of ${Atomics.load(mem, PARTIES)} parties waiting; it is now broken`,
        );
      }
      await wait(mem, GENERATION, generation, ms, o.signal);
    }
  }

  #advance(generation: number, broken: boolean): void {
    const mem = this.mem!;
    const bit = 1 << (generation & 31);
    if (broken) Atomics.or(mem, OUTCOMES, bit);
    Atomics.and(mem, OUTCOMES, ~(1 << ((generation + 1) & 31)));
    Atomics.store(mem, COUNT, 0);
    Atomics.store(mem, GENERATION, (generation + 1) | 0);
  }

  #wasBroken(generation: number): boolean {
    return (Atomics.load(this.mem!, OUTCOMES) & (1 << (generation & 31))) !== 0;
  }

  /** Breaks the barrier, unless `generation` (when given) was released meanwhile; returns whether it broke it. */
  #break(generation?: number): boolean {
    const mem = this.mem!;
    lockSync(mem, MUTEX, SLEEPERS);
    if (generation !== undefined && Atomics.load(mem, GENERATION) !== generation) {
      unlockSync(mem, MUTEX, SLEEPERS);
      return false;
    }
    Atomics.store(mem, BROKEN, 1);
    unlockSync(mem, MUTEX, SLEEPERS);
    notify(mem, GENERATION);
    return true;
  }

  /** Puts it in the broken state: current and future waiters get `BrokenBarrierError` until `reset()`. */
  abort(): void {
    if (this.remote) {
      this.fire('abort', []);
      return;
    }
    this.#break();
  }

  /** Returns it to the empty state; parties waiting now get `BrokenBarrierError`. */
  reset(): void {
    if (this.remote) {
      this.fire('reset', []);
      return;
    }
    const mem = this.mem!;
    lockSync(mem, MUTEX, SLEEPERS);
    if (Atomics.load(mem, COUNT) > 0) this.#advance(Atomics.load(mem, GENERATION), true);
    Atomics.store(mem, BROKEN, 0);
    unlockSync(mem, MUTEX, SLEEPERS);
    notify(mem, GENERATION);
  }

  _serve(method: string, args: readonly unknown[], _who: number, signal: AbortSignalLike): unknown {
    switch (method) {
      case 'wait':
        return this.wait(withSignal(args[0], signal));
      case 'abort':
        return this.abort();
      case 'reset':
        return this.reset();
      default:
        throw new ThreadkitError(`Barrier has no remote method ${method}`);
    }
  }
}

registerShared('Barrier', (origin) => new Barrier(origin));
