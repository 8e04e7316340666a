/**
 * `RemoteLock`: core's `Lock` across machines. `SET key token NX PX lease`, renewed every lease/3
 * while held; a fencing token from `INCR` on every acquisition; and a "held" marker that only
 * `release()` deletes, so the next taker after a holder whose lease ran out learns it (`ownerDied`).
 *
 * An acquire attempt given up on (timeout, signal, Redis silent) may still take the lock when Redis
 * is back. Its undo is a release by that attempt's own token, sent at once: it runs after the
 * attempt (one connection, in order), and a token is never reused, so it frees the lock only if
 * that very attempt took it, never anyone else's; if the attempt never runs, it does nothing.
 */
import { InvalidStateError, TimeoutError } from '@threadkit/core';
import { describe } from '@threadkit/core/pool-kit';
import { ACQUIRE_KEYS, checkWait, RemoteObject, type RemoteOptions, token } from './base.js';
import type { ScriptClient } from './hub.js';

/** Options of `new RemoteLock()`. */
export type RemoteLockOptions = RemoteOptions;

/** Options of `acquire()`, as core's `Lock.acquire()`. */
export interface RemoteAcquireOptions {
  /** Milliseconds to wait at most; resolves false when they pass. @default forever */
  readonly timeout?: number;
  /** Aborting it rejects the wait with `AbortError`. */
  readonly signal?: AbortSignal;
  /** `false`: take it only if it is free right now. @default true */
  readonly blocking?: boolean;
}

/**
 * Python's `Lock`, held by one holder at a time across every process and machine that reaches
 * the same Redis. A holder that dies keeps it for at most `lease` ms; the next taker then sees
 * `ownerDied === true`.
 * @example
 * await using lock = new RemoteLock('report', { connection: 'redis://db:6379' });
 * await lock.withLock(async () => { await writeReport(lock.fence); });
 */
export class RemoteLock extends RemoteObject {
  #token: string | undefined;
  #stopRenew: (() => void) | undefined;
  /** The lease ran out while held (a renewal found another holder, or none). */
  #lost = false;
  #fence: number | undefined;
  #ownerDied = false;

  constructor(name: string, options?: RemoteLockOptions) {
    super(new.target.name, 'lock', name, options, []);
  }

  #keys(): [string, string, string] {
    return [`${this.prefix}owner`, `${this.prefix}held`, `${this.prefix}fence`];
  }

  /**
   * The fencing token of the last acquisition through this handle: a number that grows with every
   * acquisition of this lock by anyone. Pass it to the storage the lock protects, which refuses
   * writes with a smaller one (a holder that stalled past its lease cannot overwrite a newer one's work).
   */
  get fence(): number | undefined {
    return this.#fence;
  }

  /** Whether the last `acquire()` through this handle took the lock from a holder whose lease ran out without a release (it died or lost Redis): what the lock protects may be half-updated. */
  get ownerDied(): boolean {
    return this.#ownerDied;
  }

  /** Whether this handle holds it now. */
  get held(): boolean {
    return this.#token !== undefined;
  }

  /** Takes the lock, waiting as long as `timeout` allows. Resolves true when taken, false on timeout or when `blocking: false` finds it held. */
  async acquire(options?: RemoteAcquireOptions): Promise<boolean> {
    const what = `Cannot acquire ${this.label}`;
    const wait = checkWait(what, options, ACQUIRE_KEYS);
    let client: ScriptClient | undefined;
    const got = await this.waitFor(what, wait, async (c, attempt) => {
      const t = token();
      const [owner, held] = this.#keys();
      attempt.onGiveUp(() => {
        this.numbered((seqKey, seq, acked) => c.tkLockRelease(owner, held, seqKey, t, this.channel, seq, acked)).catch(() => {});
      });
      const answer = (await this.numbered((seqKey, seq, acked) => c.tkLockAcquire(...this.#keys(), seqKey, t, this.lease, seq, acked))) as
        | [number, number]
        | null;
      if (!attempt.claim()) return undefined;
      client = c;
      return answer ? { value: [t, answer] as const } : undefined;
    });
    if (!got || !client) return false;
    const c = client;
    const [t, [fence, died]] = got.value;
    this.#token = t;
    this.#lost = false;
    this.#fence = Number(fence);
    this.#ownerDied = died === 1;
    this.#stopRenew?.();
    this.#stopRenew = this.every(Math.floor(this.lease / 3), async () => {
      if (this.#token !== t) return;
      if ((await c.tkLockRenew(this.#keys()[0], t, this.lease)) === 0 && this.#token === t) {
        this.#lost = true;
        this.#stopRenew?.();
      }
    });
    return true;
  }

  /**
   * Releases the lock. Throws `InvalidStateError` if this handle does not hold it, or when its lease
   * ran out and another holder took it. When Redis does not answer within `connectTimeout`, throws
   * `RedisConnectionError` (unreachable); the handle has let go all the same: the release runs when
   * Redis is back, and the lock is free at the latest when its lease runs out (renewals stopped).
   */
  async release(): Promise<void> {
    const what = `Cannot release ${this.label}`;
    const t = this.#token;
    if (t === undefined) throw new InvalidStateError(`${what}: it is not held by this handle; release only what acquire() gave you`);
    this.#token = undefined;
    this.#stopRenew?.();
    this.#stopRenew = undefined;
    const [owner, held] = this.#keys();
    const answer = await this.call(what, (client) =>
      this.numbered((seqKey, seq, acked) => client.tkLockRelease(owner, held, seqKey, t, this.channel, seq, acked)),
    );
    if (answer === 0) {
      throw new InvalidStateError(
        `${what}: its lease ran out while held${this.#lost ? ' (a renewal found it gone)' : ''} and another holder took it: this process stalled or lost Redis for longer than lease (${this.lease} ms); use a longer lease, or check the fence`,
      );
    }
  }

  /** Whether anyone holds it now. */
  async locked(): Promise<boolean> {
    return (await this.call(`Cannot read ${this.label}`, (client) => client.exists(this.#keys()[0]))) === 1;
  }

  /** Runs `fn` while holding the lock, and releases it however `fn` ends. Throws `TimeoutError` when it cannot be taken in time. */
  async withLock<T>(fn: () => T | Promise<T>, options?: RemoteAcquireOptions): Promise<T> {
    if (typeof fn !== 'function') throw new TypeError(`Cannot run withLock on ${this.label}: fn must be the function to run holding it, got ${describe(fn)}`);
    if (!(await this.acquire(options))) {
      throw new TimeoutError(
        `Cannot acquire ${this.label}: ${options?.blocking === false ? 'it is held (blocking: false)' : `timed out after ${options?.timeout} ms`}`,
      );
    }
    try {
      return await fn();
    } finally {
      await this.release();
    }
  }

  /** Lets go of the handle (see {@link RemoteObject.disconnect}); releases the lock if this handle holds it. */
  close(): Promise<void> {
    return this.disconnect();
  }

  protected override async teardown(_client: ScriptClient): Promise<void> {
    if (this.#token !== undefined) await this.release().catch(() => {});
  }
}
