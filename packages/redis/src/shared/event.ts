/**
 * `RemoteEvent`: core's `Event` across machines. A flag key, a counter of `set()` calls (so a
 * waiter woken by a `set()` that a `clear()` followed still returns true, as in Python), and a
 * pub/sub message that wakes waiters, who also re-check every lease/2.
 */
import { checkWait, RemoteObject, type RemoteOptions, WAIT_KEYS } from './base.js';

/** Options of `new RemoteEvent()`. `lease` only sets how often waits re-check without a message (lease/2). */
export type RemoteEventOptions = RemoteOptions;

/** Options of `wait()`. */
export interface RemoteWaitOptions {
  /** Milliseconds to wait at most. @default forever */
  readonly timeout?: number;
  /** Aborting it rejects the wait with `AbortError`. */
  readonly signal?: AbortSignal;
}

/**
 * Python's `Event` across machines: `set()` wakes every waiter; `wait()` resolves true once it is
 * set, false on timeout.
 * @example
 * const ready = new RemoteEvent('ready');
 * // on one machine: await ready.wait();   on another: await ready.set();
 */
export class RemoteEvent extends RemoteObject {
  constructor(name: string, options?: RemoteEventOptions) {
    super(new.target.name, 'event', name, options, []);
  }

  #flag(): string {
    return `${this.prefix}flag`;
  }

  #sets(): string {
    return `${this.prefix}sets`;
  }

  /** Sets the flag and wakes every waiter. */
  async set(): Promise<void> {
    await this.call(`Cannot set ${this.label}`, (client) => client.tkEventSet(this.#flag(), this.#sets(), this.channel));
  }

  /** Clears the flag. */
  async clear(): Promise<void> {
    await this.call(`Cannot clear ${this.label}`, (client) => client.del(this.#flag()));
  }

  /** Whether the flag is set. */
  async isSet(): Promise<boolean> {
    return (await this.call(`Cannot read ${this.label}`, (client) => client.exists(this.#flag()))) === 1;
  }

  /** Waits until the flag is set. Resolves true when it is, false when `timeout` ms pass first. */
  async wait(options?: RemoteWaitOptions | number): Promise<boolean> {
    const what = `Cannot wait for ${this.label}`;
    const wait = checkWait(what, typeof options === 'number' ? { timeout: options } : options, WAIT_KEYS);
    let sets: string | null | undefined;
    // Read-only attempts: one given up on has nothing to undo.
    const got = await this.waitFor(what, wait, async (client) => {
      const [flag, n] = await client.mget(this.#flag(), this.#sets());
      if (flag === '1') return { value: true };
      // A set() since the wait began counts, even if a clear() followed it.
      if (sets === undefined) sets = n;
      else if (n !== sets) return { value: true };
      return undefined;
    });
    return got !== undefined;
  }

  /** Lets go of the handle (see {@link RemoteObject.disconnect}). */
  close(): Promise<void> {
    return this.disconnect();
  }
}
