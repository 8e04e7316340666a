/**
 * What every shared object across machines has in common: its name and options checked, a lazy
 * share of the process's connections, leases renewed on a timer, and the one waiting loop that
 * every blocking call uses (pub/sub wake-ups, re-checked at least every lease/2 so a lost message
 * cannot hang a wait, with `timeout` and `signal`).
 *
 * Redis going away. The clients wait through an outage (`maxRetriesPerRequest: null`): a command
 * sent while Redis is paused, killed or cut off stays queued (in ioredis, or unread in the
 * server's socket) and runs when Redis is back. So nothing here awaits a command bare: a wait
 * races each command against its deadline and its signal ({@link race}) and ends on time, and a
 * call without a timeout of its own gives up after `connectTimeout`. A command given up on may
 * still run later; each attempt of a wait registers how to make that harmless ({@link Attempt}),
 * relying on one fact: the commands of one process go to Redis over one connection, in the order
 * they were sent (ioredis keeps that order through a reconnect: unanswered commands are sent
 * again first, then the offline queue), so a command sent after another runs after it.
 *
 * A command sent again after a reconnect may already have run (its reply was lost): the scripts
 * that must not run twice are numbered per handle ({@link RemoteObject.numbered}, and `once` in
 * scripts.ts), so their second run changes nothing and answers as the first did.
 */
import { InvalidStateError } from '@threadkit/core';
import { abortError, checkOptionsObject, checkSignal, checkTimeout, describe } from '@threadkit/core/pool-kit';
import { type Connection, type ConnectionConfig, connectionConfig, defaultConnection } from '../connection.js';
import { RedisConnectionError } from '../errors.js';
import { Hub, type ScriptClient } from './hub.js';

/** Options every shared object takes. */
export interface RemoteOptions {
  /** Where Redis is: a `redis://` URL or options. @default process.env.REDIS_URL, else redis://127.0.0.1:6379 */
  readonly connection?: Connection;
  /**
   * Milliseconds a holder (of a lock, a permit, a queue's items) keeps what it holds after it
   * stops renewing, i.e. after its process died or lost Redis; renewed every lease/3 while it
   * lives. Waits also re-check every lease/2 even without a wake-up message. @default 10000
   */
  readonly lease?: number;
  /** Milliseconds the first call waits for Redis to answer before it throws `RedisConnectionError`. @default 5000 */
  readonly connectTimeout?: number;
}

export const DEFAULT_LEASE = 10_000;
export const DEFAULT_CONNECT_TIMEOUT = 5_000;
export const MIN_LEASE = 100;
const MAX_MS = 0x7fffffff;
const BASE_KEYS = ['connection', 'lease', 'connectTimeout'] as const;

/** The options of a wait, checked: as core's `checkWaitOptions`. */
export interface Wait {
  readonly timeout: number | undefined;
  readonly signal: AbortSignal | undefined;
  readonly blocking: boolean;
}

/** Checks `{ timeout, signal, blocking }` (or a queue's `block`) against the names `keys` allows. */
export function checkWait(what: string, options: unknown, keys: readonly string[]): Wait {
  const o = checkOptionsObject<{ timeout: unknown; signal: unknown; blocking: unknown; block: unknown }>(what, options, keys);
  const timeout = checkTimeout(what, o.timeout);
  const signal = checkSignal(what, o.signal) as AbortSignal | undefined;
  if (o.blocking !== undefined && typeof o.blocking !== 'boolean') throw new TypeError(`${what}: blocking must be a boolean, got ${describe(o.blocking)}`);
  if (o.block !== undefined && typeof o.block !== 'boolean')
    throw new TypeError(`${what}: block must be a boolean (false: do not wait), got ${describe(o.block)}`);
  return { timeout, signal, blocking: (o.blocking ?? o.block ?? true) as boolean };
}

export const ACQUIRE_KEYS = ['timeout', 'signal', 'blocking'];
export const WAIT_KEYS = ['timeout', 'signal'];
export const QUEUE_WAIT_KEYS = ['timeout', 'signal', 'block'];

/** A random token naming one holder (a consumer, one acquisition of a lock or a permit). */
export function token(): string {
  return globalThis.crypto.randomUUID();
}

/** Counts the wake-up messages of one channel and wakes whoever waits for the next. */
class Bell {
  count = 0;
  readonly #waiters = new Set<() => void>();

  ring(): void {
    this.count++;
    for (const wake of this.#waiters) wake();
    this.#waiters.clear();
  }

  /** Resolves true once a message came after `seen`, false after `ms`; at once when `signal` aborts. */
  wait(seen: number, ms: number, signal: AbortSignal | undefined): Promise<boolean> {
    if (this.count !== seen || signal?.aborted) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (rung: boolean): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#waiters.delete(onRing);
        resolve(rung);
      };
      const onRing = (): void => done(true);
      const onAbort = (): void => done(true);
      const timer = setTimeout(() => done(false), ms);
      this.#waiters.add(onRing);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

const LATE = Symbol('late');
const ABORTED = Symbol('aborted');

/**
 * What a wait gives each attempt, to settle who owns the attempt's outcome when the wait ends
 * while its command is unanswered (the command may still run when Redis is back).
 */
export interface Attempt {
  /** Registers the undo to run, synchronously and at most once, if the wait gives up on this attempt. */
  onGiveUp(undo: () => void): void;
  /**
   * Called by the attempt when its answer came: true if the wait takes it (from then on the wait
   * cannot give up on it), false if the wait already gave up (the undo ran: the attempt must
   * treat its answer as not delivered). One synchronous decision, so an answer is never both
   * delivered and undone, nor neither.
   */
  claim(): boolean;
}

/**
 * Settles with `p`'s value (boxed), or with LATE when `deadline` (a `performance.now()` time)
 * passes first, or ABORTED when `signal` aborts first (an abort before the call does not count:
 * callers check `signal.aborted` themselves where core does), unless `attempt` was claimed. `p`
 * runs on either way; giving up runs the attempt's undo there and then.
 */
function race<U>(
  p: Promise<U>,
  deadline: number,
  signal: AbortSignal | undefined,
  attempt?: { state: 'open' | 'claimed' | 'given'; undo?: () => void },
): Promise<{ value: U } | typeof LATE | typeof ABORTED> {
  return new Promise((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const giveUp = (why: typeof LATE | typeof ABORTED): void => {
      if (attempt) {
        if (attempt.state !== 'open') return; // claimed: its value is on its way
        attempt.state = 'given';
        attempt.undo?.();
      }
      done();
      resolve(why);
    };
    const onAbort = (): void => giveUp(ABORTED);
    if (Number.isFinite(deadline)) timer = setTimeout(() => giveUp(LATE), Math.max(0, Math.min(MAX_MS, deadline - performance.now())));
    signal?.addEventListener('abort', onAbort, { once: true });
    p.then(
      (value) => {
        done();
        resolve({ value });
      },
      (error: unknown) => {
        done();
        reject(error);
      },
    );
  });
}

/** A value a wait produced (boxed: a queue's item may itself be `undefined`). */
export interface Got<T> {
  readonly value: T;
}

/**
 * The base of `RemoteQueue`, `RemoteLock`, `RemoteSemaphore` and `RemoteEvent`: a name in Redis
 * under `threadkit:<kind>:{name}:`, and a handle on it in this process.
 */
export abstract class RemoteObject {
  /** The name every handle of this object passes, on every machine. */
  readonly name: string;
  /** The lease in milliseconds. */
  readonly lease: number;
  /** The prefix of this object's keys, `threadkit:<kind>:{name}:` (the braces make it a cluster hash tag). */
  protected readonly prefix: string;
  /** The channel its wake-ups are published on. */
  protected readonly channel: string;
  /** The options given to the constructor, names checked (subclasses check their own values). */
  protected readonly options: Readonly<Record<string, unknown>>;
  readonly #config: ConnectionConfig;
  readonly #connectTimeout: number;
  #hub: Hub | undefined;
  #client: Promise<ScriptClient> | undefined;
  #bell: Bell | undefined;
  #bellReady: Promise<void> | undefined;
  #unlisten: (() => void) | undefined;
  #disconnected = false;
  /** This handle's record of its numbered commands in Redis (see `once` in scripts.ts). */
  readonly #seqKey: string;
  /** The number of this handle's last numbered command. */
  #seq = 0;
  /** The numbered commands sent and not yet answered. */
  readonly #unanswered = new Set<number>();
  readonly #timers = new Set<ReturnType<typeof setInterval>>();

  protected constructor(kind: string, keyKind: string, name: unknown, options: unknown, moreKeys: readonly string[]) {
    const what = `Cannot create a ${kind}`;
    if (typeof name !== 'string' || name === '') {
      throw new TypeError(
        `${what}: name must be a non-empty string naming it in Redis (every handle with the same name and connection shares it), got ${describe(name)}`,
      );
    }
    if (/[{}]/.test(name)) throw new TypeError(`${what}: name must not contain { or } (it becomes a Redis Cluster hash tag), got ${describe(name)}`);
    if (name.length > 1024) throw new RangeError(`${what}: name must be at most 1024 characters, got one of ${name.length}`);
    const o = checkOptionsObject<Record<string, unknown>>(what, options, [...BASE_KEYS, ...moreKeys]);
    this.#config = connectionConfig(what, o.connection ?? defaultConnection());
    this.lease = o.lease === undefined ? DEFAULT_LEASE : checkMs(what, 'lease', o.lease, MIN_LEASE, ' (how long a dead holder keeps what it held)');
    this.#connectTimeout = o.connectTimeout === undefined ? DEFAULT_CONNECT_TIMEOUT : checkMs(what, 'connectTimeout', o.connectTimeout, 1, '');
    this.name = name;
    this.prefix = `threadkit:${keyKind}:{${name}}:`;
    this.channel = `${this.prefix}wake`;
    this.#seqKey = `${this.prefix}seq:${token()}`;
    this.options = o;
  }

  /**
   * Sends a script made with `once` (scripts.ts): gives it this handle's record key (its last key)
   * and, as its last two arguments, its number and the highest number below which every numbered
   * command of this handle has had its reply (those can no longer be sent again; their records
   * go). `send` must send the command synchronously: the numbers grow in send order, which is the
   * order they run in, re-sends included.
   */
  protected numbered<U>(send: (seqKey: string, seq: number, acked: number) => Promise<U>): Promise<U> {
    const seq = ++this.#seq;
    let acked = seq - 1;
    for (const s of this.#unanswered) if (s <= acked) acked = s - 1;
    this.#unanswered.add(seq);
    let p: Promise<U>;
    try {
      p = send(this.#seqKey, seq, acked);
    } catch (error) {
      this.#unanswered.delete(seq); // never sent: it must not hold back `acked` (the records would grow)
      throw error;
    }
    const answered = (): void => {
      this.#unanswered.delete(seq);
    };
    p.then(answered, answered);
    return p;
  }

  /** `RemoteLock "name"`, for messages. */
  protected get label(): string {
    return `${this.constructor.name} ${JSON.stringify(this.name)}`;
  }

  /** The command client, connecting (and running {@link setup}) on the first call. */
  protected client(what: string): Promise<ScriptClient> {
    if (this.#disconnected) {
      return Promise.reject(
        new InvalidStateError(`${what}: this handle was disconnected (disconnect(), close() or the end of its await using scope); make a new one`),
      );
    }
    if (!this.#client) {
      this.#hub ??= Hub.take(this.#config);
      const p = this.#hub.command(what, this.#connectTimeout).then(async (c) => {
        await this.setup(c, what);
        return c;
      });
      this.#client = p;
      p.catch(() => {
        if (this.#client === p) this.#client = undefined;
      });
    }
    return this.#client;
  }

  /** Runs once, when the first call has connected (checks settings against Redis, starts timers). */
  protected async setup(_client: ScriptClient, _what: string): Promise<void> {}

  /** Runs when the handle disconnects, if it had connected (gives back what it holds). */
  protected async teardown(_client: ScriptClient): Promise<void> {}

  /** Records settings the first handle chose (`fields`) and throws when this handle's differ. */
  protected async checkMeta(
    client: ScriptClient,
    what: string,
    fields: Record<string, string>,
    explain: (field: string, theirs: string) => string,
  ): Promise<void> {
    const names = Object.keys(fields);
    const stored = (await client.tkMeta(`${this.prefix}meta`, ...names.flatMap((f) => [f, fields[f]!]))) as string[];
    names.forEach((f, i) => {
      if (stored[i] !== fields[f]) throw new InvalidStateError(`${what}: ${explain(f, stored[i]!)}`);
    });
  }

  /** Runs `fn` every `ms` while the handle is connected (not keeping the process alive, never two runs at once, errors ignored: the next run tries again). */
  protected every(ms: number, fn: () => Promise<unknown>): () => void {
    let running = false;
    const timer = setInterval(() => {
      if (running || this.#disconnected) return;
      running = true;
      fn()
        .catch(() => {})
        .finally(() => {
          running = false;
        });
    }, ms);
    timer.unref?.();
    this.#timers.add(timer);
    return () => {
      clearInterval(timer);
      this.#timers.delete(timer);
    };
  }

  async #listen(what: string): Promise<Bell> {
    if (!this.#bell) {
      const bell = new Bell();
      this.#bell = bell;
      this.#bellReady = this.#hub!.listen(this.channel, () => bell.ring(), what, this.#connectTimeout).then((unlisten) => {
        if (this.#disconnected) unlisten();
        else this.#unlisten = unlisten;
      });
      this.#bellReady.catch(() => {
        if (this.#bell === bell) this.#bell = undefined;
      });
    }
    const bell = this.#bell;
    await this.#bellReady;
    return bell;
  }

  /** The error of a call that Redis did not answer within `connectTimeout`. */
  protected unreachable(what: string, more = ''): RedisConnectionError {
    return new RedisConnectionError(
      `${what}: Redis at ${this.#config.label} did not answer within ${this.#connectTimeout} ms (connectTimeout)${more}; it is down, paused or cut off`,
      'unreachable',
    );
  }

  /**
   * Runs `fn` with the client, for a call that has no timeout of its own: throws
   * `RedisConnectionError` (unreachable) when Redis has not answered within `connectTimeout`. The
   * command stays queued and may run when Redis is back: callers use this only for reads, and for
   * writes whose late run is what the caller asked for anyway (a release, a set, a close).
   */
  protected async call<U>(what: string, fn: (client: ScriptClient) => Promise<U>): Promise<U> {
    const r = await race(this.client(what).then(fn), performance.now() + this.#connectTimeout, undefined);
    if (r === LATE || r === ABORTED) throw this.unreachable(what);
    return r.value;
  }

  /**
   * The waiting loop: tries `attempt` until it gives a value, waking on this object's messages and
   * at least every lease/2 (then `onPoll` runs first, e.g. to take back a dead consumer's items).
   * Returns undefined when `blocking` is false or `timeout` ms pass; throws `AbortError` when the
   * signal aborts. `attempt` may throw to end the wait (e.g. a closed queue).
   *
   * Every step is raced against the wait's end, so a command stuck on a Redis that went away never
   * holds the wait past its `timeout` or its signal. A wait with no time of its own (`blocking:
   * false`, `timeout: 0`) gives Redis `connectTimeout` to answer, then throws
   * `RedisConnectionError`. When the wait ends on an attempt still unanswered, that attempt's
   * registered undo runs (see {@link Attempt}).
   */
  protected async waitFor<T>(
    what: string,
    wait: Wait,
    attempt: (client: ScriptClient, attempt: Attempt) => Promise<Got<T> | undefined>,
    onPoll?: (client: ScriptClient) => Promise<unknown>,
  ): Promise<Got<T> | undefined> {
    const start = performance.now();
    const blocking = wait.blocking && wait.timeout !== 0;
    const deadline = !blocking ? start + this.#connectTimeout : wait.timeout === undefined ? Number.POSITIVE_INFINITY : start + wait.timeout;
    /** `p`'s value, or undefined when the deadline passed; throws when the signal aborts (or, not blocking, when Redis is silent). */
    const within = async <U>(p: Promise<U>, state?: { state: 'open' | 'claimed' | 'given'; undo?: () => void }): Promise<{ value: U } | undefined> => {
      const r = await race(p, deadline, wait.signal, state);
      if (r !== LATE && r !== ABORTED) return r;
      if (r === ABORTED) throw abortError(what, wait.signal!);
      if (!blocking) throw this.unreachable(what);
      return undefined;
    };
    const once = async (client: ScriptClient): Promise<Got<T> | undefined | typeof LATE> => {
      const state: { state: 'open' | 'claimed' | 'given'; undo?: () => void } = { state: 'open' };
      const r = await within(
        attempt(client, {
          onGiveUp: (undo) => {
            state.undo = undo;
          },
          claim: () => {
            if (state.state === 'given') return false;
            state.state = 'claimed';
            return true;
          },
        }),
        state,
      );
      return r ? r.value : LATE;
    };
    const c = await within(this.client(what));
    if (!c) return undefined;
    const client = c.value;
    const first = await once(client);
    if (first === LATE) return undefined;
    if (first) return first;
    if (wait.signal?.aborted) throw abortError(what, wait.signal);
    if (!blocking) return undefined;
    const b = await within(this.#listen(what));
    if (!b) return undefined;
    const bell = b.value;
    const poll = Math.max(10, Math.floor(this.lease / 2));
    for (;;) {
      const seen = bell.count;
      const got = await once(client);
      if (got === LATE) return undefined;
      if (got) return got;
      if (wait.signal?.aborted) throw abortError(what, wait.signal);
      const left = deadline - performance.now();
      if (left <= 0) return undefined;
      const rung = await bell.wait(seen, Math.min(left, poll), wait.signal);
      if (!rung && onPoll && !(await within(onPoll(client).catch(() => {})))) return undefined;
    }
  }

  /** Whether this handle was disconnected. */
  get disconnected(): boolean {
    return this.#disconnected;
  }

  /**
   * Lets go of this handle: gives back what it holds (a lock, its permits, a queue consumer's
   * items as its class says), stops its timers and drops its share of the process's connections
   * (the last share closes them). The object lives on in Redis for its other handles. Idempotent.
   */
  async disconnect(): Promise<void> {
    if (this.#disconnected) return;
    const client = this.#client;
    // Gives back first, while the handle still works.
    // Bounded: during an outage the give-back stays queued (it runs if Redis comes back before the
    // connection closes); what is not given back comes back when its lease runs out.
    if (client) {
      await race(
        client.then((c) => this.teardown(c)).catch(() => {}),
        performance.now() + this.#connectTimeout,
        undefined,
      );
    }
    // The record of numbered commands goes, unless one is unanswered: it may still be sent again
    // and must find its record then (the key's TTL removes it later). Sent before the QUIT below.
    if (client && this.#seq > 0 && this.#unanswered.size === 0) {
      const seqKey = this.#seqKey;
      client.then((c) => c.del(seqKey)).catch(() => {});
    }
    this.#disconnected = true;
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers.clear();
    this.#unlisten?.();
    this.#unlisten = undefined;
    const hub = this.#hub;
    this.#hub = undefined;
    await hub?.release(this.#connectTimeout);
  }

  /** `await using` support: leaving the scope disconnects the handle. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.disconnect();
  }
}

/** Checks a number of milliseconds. */
export function checkMs(what: string, name: string, value: unknown, min: number, why: string): number {
  if (typeof value !== 'number')
    throw new TypeError(`${what}: ${name} must be an integer number of milliseconds from ${min} to ${MAX_MS}${why}, got ${describe(value)}`);
  if (!Number.isInteger(value) || value < min || value > MAX_MS)
    throw new RangeError(`${what}: ${name} must be an integer number of milliseconds from ${min} to ${MAX_MS}${why}, got ${describe(value)}`);
  return value;
}
