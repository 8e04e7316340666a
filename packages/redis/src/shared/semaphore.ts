/**
 * `RemoteSemaphore` and `RemoteBoundedSemaphore`: core's `Semaphore` across machines. A counter
 * of free permits, and the permits taken as a sorted set of holders scored by lease expiry (on the
 * server's clock); every script first takes back the permits of holders whose lease ran out
 * (dead holders: their next takers see `ownerDied`). Held permits are renewed every lease/3.
 *
 * An acquire attempt given up on (timeout, signal, Redis silent) may still take a permit when
 * Redis is back. Its undo (`tkSemGiveBack`), sent at once, runs after it (one connection, in
 * order) and gives back the permit held under that attempt's own token, if any: never another's.
 */
import { TimeoutError } from '@threadkit/core';
import { checkInteger, describe } from '@threadkit/core/pool-kit';
import { ACQUIRE_KEYS, checkWait, RemoteObject, type RemoteOptions, token } from './base.js';
import type { ScriptClient } from './hub.js';
import type { RemoteAcquireOptions } from './lock.js';

/** Options of `new RemoteSemaphore()`. */
export type RemoteSemaphoreOptions = RemoteOptions;

/**
 * Python's `Semaphore(value)` across machines: `acquire()` takes a permit, waiting while there is
 * none; `release(n)` gives permits back. Every handle of one name must give the same `value`.
 * @example
 * const slots = new RemoteSemaphore('gpu', 2); // at most two jobs on the GPUs at once, anywhere
 * await slots.withLock(() => train());
 */
export class RemoteSemaphore extends RemoteObject {
  /** The initial number of permits. */
  readonly initial: number;
  /** The permits this handle holds (their tokens in the holders' set). */
  readonly #held: string[] = [];
  #ownerDied = false;
  #stopRenew: (() => void) | undefined;

  constructor(name: string, value = 1, options?: RemoteSemaphoreOptions) {
    super(new.target.name, 'sem', name, options, []);
    this.initial = checkInteger(`Cannot create a ${new.target.name}`, 'value', value, 0);
  }

  #bounded(): '1' | '0' {
    return this instanceof RemoteBoundedSemaphore ? '1' : '0';
  }

  #keys(): [string, string, string] {
    return [`${this.prefix}avail`, `${this.prefix}holders`, `${this.prefix}died`];
  }

  protected override async setup(client: ScriptClient, what: string): Promise<void> {
    await this.checkMeta(client, what, { value: String(this.initial), bounded: this.#bounded() }, (field, theirs) =>
      field === 'value'
        ? `it was created with value ${theirs} elsewhere, and this handle says ${this.initial}; give every handle of ${JSON.stringify(this.name)} the same value`
        : `it was created as a ${theirs === '1' ? 'RemoteBoundedSemaphore' : 'RemoteSemaphore'} elsewhere; use the same class for every handle of ${JSON.stringify(this.name)}`,
    );
  }

  /** Whether the last `acquire()` through this handle took a permit that came back from a holder whose lease ran out (it died holding it). */
  get ownerDied(): boolean {
    return this.#ownerDied;
  }

  /** How many permits this handle holds. */
  get held(): number {
    return this.#held.length;
  }

  /** Takes a permit. Resolves true when taken, false on timeout or when `blocking: false` finds none. */
  async acquire(options?: RemoteAcquireOptions): Promise<boolean> {
    const what = `Cannot acquire ${this.label}`;
    const wait = checkWait(what, options, ACQUIRE_KEYS);
    let client: ScriptClient | undefined;
    const got = await this.waitFor(what, wait, async (c, attempt) => {
      const t = token();
      let died = false;
      attempt.onGiveUp(() => {
        // `died` is known only when the answer came before the undo is sent; otherwise that news is lost (a rare race).
        c.tkSemGiveBack(...this.#keys(), t, died ? '1' : '0', this.channel).catch(() => {});
      });
      const answer = (await this.numbered((seqKey, seq, acked) =>
        c.tkSemAcquire(...this.#keys(), seqKey, t, this.lease, this.initial, this.#bounded(), this.channel, seq, acked),
      )) as [number, number] | null;
      died = answer?.[1] === 1;
      if (!attempt.claim()) return undefined;
      client = c;
      return answer ? { value: [t, died] as const } : undefined;
    });
    if (!got || !client) return false;
    const c = client;
    this.#held.push(got.value[0]);
    this.#ownerDied = got.value[1];
    this.#stopRenew ??= this.every(Math.floor(this.lease / 3), async () => {
      if (this.#held.length === 0) return;
      const lost = (await c.tkSemRenew(this.#keys()[1], this.lease, ...this.#held)) as string[];
      for (const t of lost) {
        const at = this.#held.indexOf(t);
        if (at >= 0) this.#held.splice(at, 1);
      }
    });
    return true;
  }

  /**
   * Gives back `n` permits (Python 3.9's `release(n)`), waking waiters: this handle's own first.
   * A `RemoteBoundedSemaphore` throws `RangeError` when that would pass its initial value. When
   * Redis does not answer within `connectTimeout`, throws `RedisConnectionError` (unreachable);
   * the release runs when Redis is back (and this handle's permits are no longer renewed).
   */
  async release(n = 1): Promise<void> {
    const what = `Cannot release ${this.label}`;
    checkInteger(what, 'n', n, 1);
    let mine: string[] = [];
    const [code, avail] = (await this.call(what, (client) => {
      mine = this.#held.splice(Math.max(0, this.#held.length - n), n);
      return this.numbered((seqKey, seq, acked) =>
        client.tkSemRelease(...this.#keys(), seqKey, n, this.initial, this.#bounded(), this.channel, ...mine, seq, acked),
      );
    })) as [number, number];
    if (code === -1) {
      this.#held.push(...mine);
      throw new RangeError(
        `${what}: released too many times (value ${avail} + ${n} would exceed its initial value ${this.initial}); release only the permits acquire() gave you, or use a RemoteSemaphore, which has no bound`,
      );
    }
  }

  /** The permits free now (a snapshot; it first takes back the permits of holders whose lease ran out). */
  async value(): Promise<number> {
    return Number(await this.call(`Cannot read ${this.label}`, (client) => client.tkSemValue(...this.#keys(), this.initial, this.#bounded())));
  }

  /** Runs `fn` holding a permit, and gives it back however `fn` ends. Throws `TimeoutError` when none comes in time. */
  async withLock<T>(fn: () => T | Promise<T>, options?: RemoteAcquireOptions): Promise<T> {
    if (typeof fn !== 'function')
      throw new TypeError(`Cannot run withLock on ${this.label}: fn must be the function to run holding a permit, got ${describe(fn)}`);
    if (!(await this.acquire(options))) {
      throw new TimeoutError(
        `Cannot acquire ${this.label}: ${options?.blocking === false ? 'no permit is free (blocking: false)' : `timed out after ${options?.timeout} ms`}`,
      );
    }
    try {
      return await fn();
    } finally {
      if (this.#held.length > 0) await this.release();
    }
  }

  /** Lets go of the handle (see {@link RemoteObject.disconnect}); gives back the permits this handle holds. */
  close(): Promise<void> {
    return this.disconnect();
  }

  protected override async teardown(_client: ScriptClient): Promise<void> {
    if (this.#held.length > 0) await this.release(this.#held.length).catch(() => {});
  }
}

/** Python's `BoundedSemaphore` across machines: releasing beyond the initial value throws `RangeError`. */
export class RemoteBoundedSemaphore extends RemoteSemaphore {}
