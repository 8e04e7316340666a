/** `Event`: Python's flag that threads wait for, shareable with threads and processes. */
import { ThreadkitError } from './errors.js';
import { deadlineOf, notify, wait, type AbortSignalLike } from './futex.js';

import { WAIT_KEYS, checkWaitOptions } from './validate.js';
import { checkNoArguments, registerShared, sendable, SharedObject, throwIfAborted, withSignal, type Origin, type WaitOptions } from './shared.js';

const FLAG = 0;
/** Bumped by every set(): a waiter woken by a set() that a clear() followed still returns true, as in Python. */
const SETS = 1;
const WORDS = 2;

/**
 * Python's `Event`: `set()` wakes every waiter; `wait()` resolves true once it is set, false on timeout.
 * @example
 * const ready = new Event();
 * // in a worker: await ready.wait();   in main: ready.set();
 */
export class Event extends SharedObject {
  /** A proxy's last known state, for `isSet()` where the memory is not shared. */
  #known = false;

  constructor();
  /** @internal A revived copy. */
  constructor(origin: Origin);
  constructor(...args: unknown[]) {
    checkNoArguments('Event', args);
    super((args[0] as Origin | undefined) ?? { kind: 'new', words: WORDS });
  }

  protected get typeName(): string {
    return 'Event';
  }

  /** Sets the flag and wakes every waiter. */
  set(): void {
    if (this.remote) {
      this.#known = true;
      this.fire('set', []);
      return;
    }
    Atomics.store(this.mem!, FLAG, 1);
    Atomics.add(this.mem!, SETS, 1);
    notify(this.mem!, SETS);
  }

  /** Clears the flag. */
  clear(): void {
    if (this.remote) {
      this.#known = false;
      this.fire('clear', []);
      return;
    }
    Atomics.store(this.mem!, FLAG, 0);
  }

  /** Whether the flag is set (on a proxy in another process: as last seen by this realm). */
  isSet(): boolean {
    if (this.remote) return this.#known;
    return Atomics.load(this.mem!, FLAG) === 1;
  }

  /** Waits until the flag is set. Resolves true when it is, false when `timeout` ms pass first. */
  async wait(options?: WaitOptions | number): Promise<boolean> {
    const what = 'Cannot wait for Event';
    const opts = typeof options === 'number' ? { timeout: options } : options;
    const o = checkWaitOptions(what, opts, WAIT_KEYS);
    if (this.remote) {
      const set = (await this.call('wait', [sendable(opts)], o.signal)) as boolean;
      this.#known = set;
      return set;
    }
    const mem = this.mem!;
    if (Atomics.load(mem, FLAG) === 1) return true;
    const sets = Atomics.load(mem, SETS);
    const left = deadlineOf(o.timeout);
    while (Atomics.load(mem, FLAG) === 0 && Atomics.load(mem, SETS) === sets) {
      throwIfAborted(what, o.signal);
      const ms = left();
      if (ms === 0) return false;
      await wait(mem, SETS, sets, ms, o.signal);
    }
    return true;
  }

  _serve(method: string, args: readonly unknown[], _who: number, signal: AbortSignalLike): unknown {
    switch (method) {
      case 'set':
        return this.set();
      case 'clear':
        return this.clear();
      case 'wait':
        return this.wait(withSignal(args[0], signal));
      default:
        throw new ThreadkitError(`Event has no remote method ${method}`);
    }
  }
}

registerShared('Event', (origin) => new Event(origin));
