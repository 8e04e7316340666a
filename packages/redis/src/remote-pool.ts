/**
 * `RemotePool`: `Pool`'s API with workers on other machines, through Redis and BullMQ.
 *
 * A call is a BullMQ job; its answer comes back on this pool's own results list (see
 * `protocol.ts`), read by one blocking command for many answers at a time. `map`, `starmap`,
 * `imap` and `imapUnordered` are core's own (`@threadkit/core/pool-kit`), given this pool as a
 * {@link ChunkSubmitter}: a chunk is one job.
 *
 * Delivery is at least once with one answer: a task whose worker died (or stalled past its lease)
 * runs again elsewhere, up to `maxAttempts` times, and the first answer of a call settles it; a
 * later one is dropped. With `maxAttempts: 1` a call whose worker died fails with `TaskLostError`
 * instead (at most once). A call whose job vanished from Redis (restarted without its data) fails
 * with `TaskLostError` too, found by a check every `lostCheck` ms while calls are pending.
 */
import { randomBytes } from 'node:crypto';
import { AbortError, InvalidStateError, PoolClosedError, type PoolStats, QueueFullError, TaskError, TimeoutError } from '@threadkit/core';
import { Decoder, Encoder } from '@threadkit/core/codec';
import {
  APPLY_KEYS,
  type ChunkSubmitter,
  Reservoir,
  type StopReason,
  abortError,
  checkInteger,
  checkOptionsObject,
  checkSignal,
  checkTimeout,
  describe,
  mapAll,
  mapJob,
  stream,
  streamJob,
} from '@threadkit/core/pool-kit';
import type { AbortSignalLike, AnyFunction, ApplyOptions, ImapOptions, MapOptions } from '@threadkit/core';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { type Connection, type ConnectionConfig, connect, connectionConfig, defaultConnection, scrub } from './connection.js';
import { PayloadTooLargeError, RedisConnectionError, TaskLostError, redisErrors } from './errors.js';
import {
  type Frame,
  type JobCall,
  type JobData,
  KIND_APPLY,
  MAX_BATCH,
  KIND_MAP,
  KIND_STARMAP,
  PREFIX,
  ST_ERROR,
  ST_OK,
  ST_PROGRESS,
  ST_TASK_ERROR,
  VERSION,
  WORKER_TTL,
  type WorkerInfo,
  checkName,
  keys,
  readFrame,
} from './protocol.js';
import { type RemoteTaskRef, isRemoteTaskRef } from './tasks.js';

/** Options of `new RemotePool()`. */
export interface RemotePoolOptions {
  /** Where Redis is: a `redis://` / `rediss://` URL (user and password in it, if any) or options. @default process.env.REDIS_URL or redis://127.0.0.1:6379 */
  readonly connection?: Connection;
  /** The queue's name: the workers serving it were started with the same `--name`. */
  readonly name: string;
  /** How many tasks the workers run at once, for `map`'s default chunk size. @default the workers seen (their pools' sizes added up), at least 1 */
  readonly size?: number;
  /** The most calls (apply calls and map chunks) in flight at once: `apply` rejects with `QueueFullError` beyond it, `map` and `imap` wait. 0: unbounded. @default 0 */
  readonly maxQueue?: number;
  /** How many times a call's task may start: more than once only when a worker died or stalled under it. 1 is at most once. @default 3 */
  readonly maxAttempts?: number;
  /** The largest arguments (and results) in bytes, once encoded. @default 16 MiB */
  readonly maxPayload?: number;
  /** How long the first call waits for Redis before `RedisConnectionError`, ms. @default 10000 */
  readonly connectTimeout?: number;
  /** How often pending calls are checked for jobs that vanished from Redis, ms (one is given up after two checks). @default 2000 */
  readonly lostCheck?: number;
}

/** Options of `RemotePool.apply()`. */
export interface RemoteApplyOptions extends ApplyOptions {
  /** Called with what the task reports through `reportProgress()`. */
  readonly onProgress?: (progress: unknown) => void;
  /** Overrides the pool's `maxAttempts` for this call. */
  readonly maxAttempts?: number;
}

/** The arguments after the target of `RemotePool.apply()`. */
export type RemoteApplyRest<F extends AnyFunction> =
  Parameters<F> extends [] ? [args?: [], options?: RemoteApplyOptions] : [args: NoInfer<Parameters<F>>, options?: RemoteApplyOptions];

/** A worker serving the pool, as the pool last saw it. */
export interface RemoteWorkerStats {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  readonly size: number;
  readonly kind: 'thread' | 'process' | 'inline';
  readonly busy: number;
  readonly done: number;
  readonly modules: readonly string[];
}

/** `Pool`'s stats, with the workers seen. `workers`, `busy` and `idle` count task slots of the workers seen. */
export interface RemotePoolStats extends PoolStats {
  readonly hosts: readonly RemoteWorkerStats[];
  /** Answers that came for a call already settled (a task that ran twice), dropped. */
  readonly duplicates: number;
  /** Calls that failed with `TaskLostError`. */
  readonly lost: number;
}

const POOL_KEYS = ['connection', 'name', 'size', 'maxQueue', 'maxAttempts', 'maxPayload', 'connectTimeout', 'lostCheck'];
const REMOTE_APPLY_KEYS = [...APPLY_KEYS, 'onProgress', 'maxAttempts'];
const MiB = 1024 * 1024;

/** A call in flight: an apply, or a chunk of a map. */
interface Call {
  readonly id: string;
  readonly what: string;
  readonly submitted: number;
  /** What travels in its job. */
  readonly row: JobCall;
  readonly maxAttempts: number;
  /** A map chunk travels alone; apply calls of one turn share jobs. */
  readonly alone: boolean;
  /** Its job, once it has one. */
  job: Job | undefined;
  settled: boolean;
  done(ok: boolean, value: unknown): void;
  onProgress: ((progress: unknown) => void) | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
  unwatch: (() => void) | undefined;
}

/** A BullMQ job: one call, or a batch of apply calls. */
interface Job {
  readonly id: string;
  readonly calls: Call[];
  readonly submitted: number;
  /** Once it is in Redis (the lost check leaves jobs still being added alone). */
  added: boolean;
  /** Found missing by one lost check. */
  suspect: boolean;
}

type State = 'running' | 'closing' | 'closed';

/**
 * A pool whose workers run on other machines: Python's `Pool` API (`apply`, `map`, `starmap`,
 * `imap`, `imapUnordered`, `close`, `terminate`, `join`), with the workers started by
 * `threadkit-worker` (or `serve()`) on any machine that reaches the same Redis.
 * @example
 * const tasks = remoteTasks<typeof import('./tasks.ts')>('tasks');
 * await using pool = new RemotePool({ connection: 'redis://10.0.0.5:6379', name: 'render' });
 * const sum = await pool.apply(tasks.add, [2, 3], { timeout: 5000 });
 * const out = await pool.map(tasks.render, rows, { onProgress: ({ done, total }) => bar(done / total) });
 */
export class RemotePool {
  /** The queue's name. */
  readonly name: string;
  /** Where Redis is, without credentials. */
  readonly connection: string;

  readonly #config: ConnectionConfig;
  readonly #size: number | undefined;
  readonly #maxQueue: number;
  readonly #maxAttempts: number;
  readonly #maxPayload: number;
  readonly #connectTimeout: number;
  readonly #lostCheck: number;
  readonly #caller = randomBytes(6).toString('hex');
  readonly #resultsKey: string;
  readonly #calls = new Map<string, Call>();
  readonly #encoder = new Encoder();
  readonly #decoder = new Decoder();
  #seq = 0;
  #state: State = 'running';
  #ready: Promise<void> | undefined;
  #client: Redis | undefined;
  #results: Redis | undefined;
  #queue: Queue | undefined;
  #reading = false;
  /** Calls made this turn, not yet in a job. */
  #outgoing: Call[] = [];
  #flushing = false;
  #lostTimer: ReturnType<typeof setInterval> | undefined;
  #roomWaiters: (() => void)[] = [];
  #ended: Promise<void>;
  #end!: () => void;
  #hosts: RemoteWorkerStats[] = [];
  #hostsAt = 0;
  #hostsRefresh: Promise<void> | undefined;
  readonly #tally = { submitted: 0, completed: 0, failed: 0, aborted: 0, timedOut: 0, duplicates: 0, lost: 0 };
  readonly #runTimes = new Reservoir();
  readonly #waitTimes = new Reservoir();

  constructor(options: RemotePoolOptions) {
    const what = 'Cannot create a RemotePool';
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`${what}: give options like { name: 'render', connection: 'redis://127.0.0.1:6379' }, got ${describe(options)}`);
    }
    const o = checkOptionsObject<RemotePoolOptions>(what, options, POOL_KEYS);
    this.name = checkName(what, o.name);
    this.#config = connectionConfig(what, o.connection ?? defaultConnection());
    this.connection = this.#config.label;
    this.#size = o.size === undefined ? undefined : checkInteger(what, 'size', o.size, 1);
    this.#maxQueue = o.maxQueue === undefined ? 0 : checkInteger(what, 'maxQueue', o.maxQueue, 0);
    this.#maxAttempts = o.maxAttempts === undefined ? 3 : checkInteger(what, 'maxAttempts', o.maxAttempts, 1, 1000);
    this.#maxPayload = o.maxPayload === undefined ? 16 * MiB : checkInteger(what, 'maxPayload', o.maxPayload, 1, 512 * MiB);
    this.#connectTimeout = checkTimeout(`${what}: connectTimeout`, o.connectTimeout) ?? 10_000;
    this.#lostCheck = o.lostCheck === undefined ? 2000 : checkInteger(what, 'lostCheck', o.lostCheck, 10);
    this.#resultsKey = keys.results(this.name, this.#caller);
    this.#ended = new Promise((resolve) => (this.#end = resolve));
  }

  /** How many tasks the workers run at once, as last seen (or as given); `map`'s default chunks are cut from it. */
  get size(): number {
    if (this.#size !== undefined) return this.#size;
    let n = 0;
    for (const h of this.#hosts) n += h.size;
    return Math.max(1, n);
  }

  // ------------------------------------------------------------------------------ connecting

  #connect(what: string): Promise<void> {
    this.#ready ??= (async () => {
      const client = await connect(this.#config, what, this.#connectTimeout);
      const results = client.duplicate();
      results.on('error', () => {});
      client.on('error', () => {});
      this.#client = client;
      this.#results = results;
      this.#queue = new Queue(this.name, { connection: client, prefix: PREFIX });
      this.#queue.on('error', () => {});
      await this.#refreshHosts();
    })();
    this.#ready.catch(() => (this.#ready = undefined));
    return this.#ready;
  }

  async #refreshHosts(): Promise<void> {
    const client = this.#client;
    if (!client) return;
    const all = await client.hgetall(keys.workers(this.name));
    const now = Date.now();
    const hosts: RemoteWorkerStats[] = [];
    for (const json of Object.values(all)) {
      try {
        const w = JSON.parse(json) as WorkerInfo;
        if (now - w.seen > WORKER_TTL) continue;
        hosts.push({ id: w.id, host: w.host, pid: w.pid, size: w.size, kind: w.kind, busy: w.busy, done: w.done, modules: w.modules });
      } catch {
        // Not ours: leave it.
      }
    }
    hosts.sort((a, b) => (a.host === b.host ? a.pid - b.pid : a.host < b.host ? -1 : 1));
    this.#hosts = hosts;
    this.#hostsAt = now;
  }

  #hostsSoon(): void {
    if (Date.now() - this.#hostsAt < 1000 || this.#hostsRefresh || !this.#client) return;
    this.#hostsRefresh = this.#refreshHosts()
      .catch(() => {})
      .finally(() => (this.#hostsRefresh = undefined));
  }

  // ------------------------------------------------------------------------------ calls

  #checkOpen(what: string): void {
    if (this.#state !== 'running')
      throw new PoolClosedError(`${what}: the pool is ${this.#state === 'closing' ? 'closing' : 'closed'}; create a new RemotePool`);
  }

  #target(what: string, target: unknown): RemoteTaskRef {
    if (isRemoteTaskRef(target)) return target;
    if (typeof target === 'function') {
      throw new TypeError(
        `${what}: target ${target.name || '(anonymous)'} is a function; a RemotePool sends no code (a worker runs only the task modules it was started with), so export it from a task module and name it with remoteTasks('tasks').${target.name || 'fn'}`,
      );
    }
    if (typeof target === 'object' && target !== null && (target as { kind?: unknown }).kind === 'task') {
      throw new TypeError(
        `${what}: target ${String((target as { name?: unknown }).name)} comes from taskModule(url), whose file URL a worker on another machine cannot open; name the module with remoteTasks('tasks') and start workers with --tasks tasks=./tasks.js`,
      );
    }
    throw new TypeError(`${what}: target must be a task from remoteTasks(), got ${describe(target)}`);
  }

  #encode(what: string, value: unknown, root: string): string {
    const bytes = this.#encoder.encode(value, root);
    if (bytes.length > this.#maxPayload) {
      throw new PayloadTooLargeError(
        `${what}: its ${root} take ${bytes.length} bytes encoded, more than maxPayload (${this.#maxPayload}); send less per call (smaller chunks, or a reference to data stored elsewhere) or raise maxPayload`,
        bytes.length,
        this.#maxPayload,
      );
    }
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64');
  }

  /**
   * Starts a call: at the end of this turn it goes to Redis, alone (a map chunk) or with the other
   * apply calls of the turn; `done` is called once, with its answer or its failure.
   */
  #start(
    what: string,
    ref: RemoteTaskRef,
    kind: number,
    payload: string,
    maxAttempts: number,
    onProgress: ((progress: unknown) => void) | undefined,
    done: (ok: boolean, value: unknown) => void,
  ): Call {
    const id = `${this.#caller}.${(++this.#seq).toString(36)}`;
    const call: Call = {
      id,
      what,
      submitted: Date.now(),
      row: [id, ref.remote, ref.name, kind, payload, onProgress ? 1 : 0],
      maxAttempts,
      alone: kind !== KIND_APPLY,
      job: undefined,
      settled: false,
      done,
      onProgress,
      timer: undefined,
      unwatch: undefined,
    };
    this.#calls.set(id, call);
    this.#tally.submitted++;
    this.#outgoing.push(call);
    if (!this.#flushing) {
      this.#flushing = true;
      queueMicrotask(() => this.#flush());
    }
    return call;
  }

  /**
   * Puts this turn's calls into jobs and adds them in one round trip. Apply calls with the same
   * `maxAttempts` share jobs: as many jobs as the workers seen have task slots (so they still
   * spread over the workers), at most {@link MAX_BATCH} calls and `maxPayload` bytes each.
   */
  #flush(): void {
    this.#flushing = false;
    const calls = this.#outgoing.filter((c) => !c.settled);
    this.#outgoing = [];
    if (calls.length === 0) return;
    const jobs: Job[] = [];
    const groups = new Map<number, Call[]>();
    for (const call of calls) {
      if (call.alone) jobs.push(this.#job([call]));
      else {
        let g = groups.get(call.maxAttempts);
        if (!g) groups.set(call.maxAttempts, (g = []));
        g.push(call);
      }
    }
    const slots = this.size;
    for (const g of groups.values()) {
      const per = Math.min(MAX_BATCH, Math.max(1, Math.ceil(g.length / slots)));
      let batch: Call[] = [];
      let bytes = 0;
      for (const call of g) {
        const size = call.row[4].length;
        if (batch.length >= per || (batch.length > 0 && bytes + size > this.#maxPayload)) {
          jobs.push(this.#job(batch));
          batch = [];
          bytes = 0;
        }
        batch.push(call);
        bytes += size;
      }
      if (batch.length > 0) jobs.push(this.#job(batch));
    }
    const what = calls[0]!.what;
    this.#connect(what)
      .then(() => {
        this.#read();
        const bulk = jobs.map((job) => {
          const first = job.calls[0]!;
          const data: JobData = { tk: VERSION, c: this.#caller, n: first.maxAttempts, q: job.calls.map((c) => c.row) };
          const name = `${first.row[1]}.${first.row[2]}${job.calls.length > 1 ? ` +${job.calls.length - 1}` : ''}`;
          return { name, data, opts: { jobId: job.id, removeOnComplete: true, removeOnFail: true } };
        });
        // One job: `add` (one script); more: `addBulk` (one MULTI of them).
        if (bulk.length === 1) return this.#queue!.add(bulk[0]!.name, bulk[0]!.data, bulk[0]!.opts).then(() => undefined);
        return this.#queue!.addBulk(bulk).then(() => undefined);
      })
      .then(() => {
        const gaveUp: Call[] = [];
        for (const job of jobs) {
          job.added = true;
          for (const c of job.calls) if (c.settled) gaveUp.push(c);
        }
        if (gaveUp.length > 0) this.#cancel(gaveUp);
      })
      .catch((error: unknown) => {
        const e = error instanceof RedisConnectionError ? error : this.#redisError(what, error);
        for (const job of jobs) for (const c of job.calls) this.#settle(c, false, e);
      });
  }

  #job(calls: Call[]): Job {
    const job: Job = {
      id: calls.length === 1 ? calls[0]!.id : `${this.#caller}.${(++this.#seq).toString(36)}`,
      calls,
      submitted: Date.now(),
      added: false,
      suspect: false,
    };
    for (const c of calls) c.job = job;
    return job;
  }

  #redisError(what: string, error: unknown): Error {
    const message = error instanceof Error ? error.message : String(error);
    return new RedisConnectionError(`${what}: Redis at ${this.#config.label} failed: ${scrub(message, this.#config)}`, 'unreachable', { cause: error });
  }

  #settle(call: Call, ok: boolean, value: unknown): void {
    if (call.settled) return;
    call.settled = true;
    this.#calls.delete(call.id);
    if (call.timer !== undefined) clearTimeout(call.timer);
    call.unwatch?.();
    if (ok) this.#tally.completed++;
    else if (value instanceof AbortError) this.#tally.aborted++;
    else if (value instanceof TimeoutError) this.#tally.timedOut++;
    else this.#tally.failed++;
    if (value instanceof TaskLostError) this.#tally.lost++;
    call.done(ok, value);
    const waiters = this.#roomWaiters;
    if (waiters.length > 0) {
      this.#roomWaiters = [];
      for (const wake of waiters) wake();
    }
    if (this.#calls.size === 0 && this.#state === 'closing') void this.#shutdown();
  }

  /**
   * Gives up on calls: a queued job whose calls all gave up is removed (it never runs); otherwise
   * the workers are told (pub/sub) to abort them, and for a batch a marker waits for the worker
   * that takes it later, so a call given up on before it started never starts.
   */
  #cancel(calls: Call[]): void {
    const client = this.#client;
    const queue = this.#queue;
    if (!client || !queue) return;
    const byJob = new Map<Job, Call[]>();
    for (const c of calls) {
      if (!c.job?.added) continue;
      let list = byJob.get(c.job);
      if (!list) byJob.set(c.job, (list = []));
      list.push(c);
    }
    if (byJob.size === 0) return;
    void (async () => {
      const tell: string[] = [];
      const mark: string[] = [];
      for (const [job, list] of byJob) {
        if (job.calls.every((c) => c.settled) && (await queue.remove(job.id).catch(() => 0)) === 1) continue;
        for (const c of list) {
          tell.push(c.id);
          if (job.calls.length > 1) mark.push(c.id);
        }
      }
      if (mark.length > 0) {
        const pipe = client.pipeline();
        for (const id of mark) pipe.set(keys.cancelled(this.name, id), '1', 'PX', 3_600_000);
        await pipe.exec();
      }
      if (tell.length > 0) await client.publish(keys.cancel(this.name), tell.join(' '));
    })().catch(() => {});
  }

  /** Stops a call from this side: it settles now with `error`, and its task is cancelled. */
  #stop(call: Call, error: Error): void {
    if (call.settled) return;
    this.#settle(call, false, error);
    this.#cancel([call]);
  }

  #watch(call: Call, what: string, signal: AbortSignalLike | undefined, timeout: number | undefined): void {
    if (timeout !== undefined) {
      call.timer = setTimeout(() => this.#stop(call, new TimeoutError(`${what}: it did not finish within ${timeout} ms`)), timeout);
    }
    if (signal) {
      const onAbort = (): void => this.#stop(call, abortError(what, signal));
      signal.addEventListener('abort', onAbort, { once: true });
      call.unwatch = () => signal.removeEventListener('abort', onAbort);
    }
  }

  // ------------------------------------------------------------------------------ answers

  /** Reads answers while calls are pending: one blocking command takes up to 512 at a time. */
  #read(): void {
    if (this.#reading) return;
    this.#reading = true;
    this.#lostTimer ??= setInterval(() => this.#checkLost(), this.#lostCheck);
    void (async () => {
      const results = this.#results!;
      while (this.#calls.size > 0 && this.#state !== 'closed') {
        let got: unknown;
        try {
          got = await results.callBuffer('BLMPOP', '1', '1', this.#resultsKey, 'LEFT', 'COUNT', '512');
        } catch {
          if ((this.#state as State) === 'closed') break;
          await new Promise((r) => setTimeout(r, 100));
          continue;
        }
        if (!got) continue;
        for (const b of (got as [Buffer, Buffer[]])[1]) this.#answer(b);
      }
      this.#reading = false;
      if (this.#lostTimer !== undefined && this.#calls.size === 0) {
        clearInterval(this.#lostTimer);
        this.#lostTimer = undefined;
      }
      if (this.#calls.size > 0 && this.#state !== 'closed') this.#read();
    })();
  }

  #answer(b: Buffer): void {
    const frame = readFrame(b);
    if (!frame) return;
    const call = this.#calls.get(frame.id);
    if (!call) {
      if (frame.status !== ST_PROGRESS) this.#tally.duplicates++;
      return;
    }
    if (frame.status === ST_PROGRESS) {
      if (call.onProgress) {
        try {
          call.onProgress(this.#decode(frame));
        } catch (error) {
          this.#stop(call, error instanceof Error ? error : new Error(String(error)));
        }
      }
      return;
    }
    this.#runTimes.add(frame.runMs);
    this.#waitTimes.add(Math.max(0, Date.now() - call.submitted - frame.runMs));
    let value: unknown;
    try {
      value = this.#decode(frame);
    } catch (error) {
      this.#settle(call, false, error);
      return;
    }
    if (frame.status === ST_OK) this.#settle(call, true, value);
    else if (frame.status === ST_TASK_ERROR) this.#settle(call, false, new TaskError(value as Error, frame.where));
    else this.#settle(call, false, value);
  }

  #decode(frame: Frame): unknown {
    const value = this.#decoder.decode(frame.payload);
    if (frame.status === ST_ERROR && value instanceof Error) {
      const ctor = redisErrors[value.name];
      if (ctor && !(value instanceof (ctor as unknown as typeof Error))) {
        const revived = Object.create(ctor.prototype) as Error;
        Object.defineProperties(revived, Object.getOwnPropertyDescriptors(value));
        return revived;
      }
    }
    return value;
  }

  /** Calls whose job is gone from Redis and whose answer did not come: found twice, they fail. */
  #checkLost(): void {
    const client = this.#client;
    if (client?.status !== 'ready') return;
    const now = Date.now();
    const jobs = new Set<Job>();
    for (const call of this.#calls.values()) if (call.job?.added && now - call.job.submitted >= this.#lostCheck) jobs.add(call.job);
    if (jobs.size === 0) return;
    const list = [...jobs];
    const pipe = client.pipeline();
    for (const job of list) pipe.exists(keys.job(this.name, job.id));
    pipe
      .exec()
      .then((replies) => {
        if (!replies) return;
        for (let i = 0; i < list.length; i++) {
          const job = list[i]!;
          const [err, exists] = replies[i]!;
          if (err) continue;
          if (exists === 1) job.suspect = false;
          else if (!job.suspect) job.suspect = true;
          else {
            for (const call of job.calls) {
              this.#settle(
                call,
                false,
                new TaskLostError(
                  `${call.what}: its task is gone from Redis at ${this.#config.label} without an answer (Redis restarted without its data, or the data was evicted or deleted); run it again, and give Redis appendonly yes and maxmemory-policy noeviction to keep tasks across a restart`,
                ),
              );
            }
          }
        }
      })
      .catch(() => {});
  }

  // ------------------------------------------------------------------------------ submitting

  /**
   * Runs `target(...args)` on a worker; resolves with its value, or rejects with its error
   * (`TaskError`, with the remote class name, code, cause and stack).
   * @example
   * const sum = await pool.apply(tasks.add, [2, 3], { timeout: 5000 });
   */
  apply<F extends AnyFunction>(target: RemoteTaskRef<F>, ...rest: RemoteApplyRest<F>): Promise<Awaited<ReturnType<F>>> {
    const [args = [], options] = rest as [unknown[] | undefined, RemoteApplyOptions | undefined];
    let ref: RemoteTaskRef;
    let what: string;
    let signal: AbortSignalLike | undefined;
    let timeout: number | undefined;
    let onProgress: ((p: unknown) => void) | undefined;
    let maxAttempts = this.#maxAttempts;
    let payload: string;
    try {
      ref = this.#target('Cannot apply', target);
      what = `Cannot apply ${ref.remote}.${ref.name}`;
      this.#checkOpen(what);
      if (!Array.isArray(args)) throw new TypeError(`${what}: args must be an array of arguments, got ${describe(args)}`);
      if (options !== undefined) {
        const o = checkOptionsObject<RemoteApplyOptions>(what, options, REMOTE_APPLY_KEYS);
        signal = checkSignal(what, o.signal);
        timeout = checkTimeout(what, o.timeout);
        if (o.onProgress !== undefined && typeof o.onProgress !== 'function')
          throw new TypeError(`${what}: onProgress must be a function, got ${describe(o.onProgress)}`);
        onProgress = o.onProgress;
        if (o.maxAttempts !== undefined) maxAttempts = checkInteger(what, 'maxAttempts', o.maxAttempts, 1, 1000);
        if (signal?.aborted) throw abortError(what, signal);
      }
      if (this.#maxQueue > 0 && this.#calls.size >= this.#maxQueue) {
        throw new QueueFullError(
          `${what}: ${this.#calls.size} calls are in flight (maxQueue ${this.#maxQueue}); wait for some results first, or raise maxQueue`,
        );
      }
      payload = this.#encode(what, args, 'args');
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      const call = this.#start(what, ref, KIND_APPLY, payload, maxAttempts, onProgress, (ok, value) =>
        ok ? resolve(value as Awaited<ReturnType<F>>) : reject(value),
      );
      if (signal || timeout !== undefined) this.#watch(call, what, signal, timeout);
    });
  }

  #submitter(what: string, ref: RemoteTaskRef): ChunkSubmitter<Call> {
    return {
      size: this.size,
      checkOpen: (w: string) => this.#checkOpen(w),
      hasRoom: () => this.#maxQueue === 0 || this.#calls.size < this.#maxQueue,
      whenRoom: () => new Promise<void>((resolve) => this.#roomWaiters.push(resolve)),
      submit: (items: unknown[], starmap: boolean, done: (ok: boolean, value: unknown) => void): Call => {
        let payload: string;
        try {
          payload = this.#encode(what, items, 'items');
        } catch (error) {
          const failed: Call = {
            id: '',
            what,
            submitted: 0,
            row: ['', '', '', 0, '', 0],
            maxAttempts: 1,
            alone: true,
            job: undefined,
            settled: true,
            done,
            onProgress: undefined,
            timer: undefined,
            unwatch: undefined,
          };
          queueMicrotask(() => done(false, error));
          return failed;
        }
        return this.#start(what, ref, starmap ? KIND_STARMAP : KIND_MAP, payload, this.#maxAttempts, undefined, done);
      },
      stop: (call: Call, error: Error, _reason: StopReason) => this.#stop(call, error),
    };
  }

  /**
   * Calls `target(item)` for every item, on the workers, and resolves with the results in order:
   * Python's `Pool.map`. Items go in chunks, one job each (`chunksize`; by default as Python cuts them).
   */
  // biome-ignore lint/suspicious/noExplicitAny: any keeps the item type of any one-parameter function
  map<F extends (item: any) => any>(
    target: RemoteTaskRef<F>,
    items: Iterable<NoInfer<Parameters<F>[0]>>,
    options?: MapOptions,
  ): Promise<Awaited<ReturnType<F>>[]> {
    return this.#map('map', target, items, options, false) as Promise<Awaited<ReturnType<F>>[]>;
  }

  /** Like {@link map}, but each item is an array of arguments: `target(...item)`. Python's `Pool.starmap`. */
  starmap<F extends AnyFunction>(target: RemoteTaskRef<F>, items: Iterable<NoInfer<Parameters<F>>>, options?: MapOptions): Promise<Awaited<ReturnType<F>>[]> {
    return this.#map('starmap', target, items, options, true) as Promise<Awaited<ReturnType<F>>[]>;
  }

  /** Like {@link map}, but streams results in order, reading the items only as far ahead as needed. Python's `Pool.imap`. */
  // biome-ignore lint/suspicious/noExplicitAny: any keeps the item type of any one-parameter function
  imap<F extends (item: any) => any>(
    target: RemoteTaskRef<F>,
    items: Iterable<NoInfer<Parameters<F>[0]>> | AsyncIterable<NoInfer<Parameters<F>[0]>>,
    options?: ImapOptions,
  ): AsyncGenerator<Awaited<ReturnType<F>>, void, undefined> {
    return this.#imap('imap', target, items, options, true) as AsyncGenerator<Awaited<ReturnType<F>>, void, undefined>;
  }

  /** Like {@link imap}, but results come in the order they are ready. Python's `Pool.imap_unordered`. */
  // biome-ignore lint/suspicious/noExplicitAny: any keeps the item type of any one-parameter function
  imapUnordered<F extends (item: any) => any>(
    target: RemoteTaskRef<F>,
    items: Iterable<NoInfer<Parameters<F>[0]>> | AsyncIterable<NoInfer<Parameters<F>[0]>>,
    options?: ImapOptions,
  ): AsyncGenerator<Awaited<ReturnType<F>>, void, undefined> {
    return this.#imap('imapUnordered', target, items, options, false) as AsyncGenerator<Awaited<ReturnType<F>>, void, undefined>;
  }

  async #map(method: string, target: unknown, items: unknown, options: MapOptions | undefined, starmap: boolean): Promise<unknown[]> {
    const ref = this.#target(`Cannot ${method}`, target);
    const what = `Cannot ${method} ${ref.remote}.${ref.name}`;
    this.#checkOpen(what);
    const job = mapJob(what, items, options, starmap);
    // The default chunk size comes from the workers seen: look before cutting.
    if (job.chunksize === undefined && this.#size === undefined && job.list.length > 0) await this.#connect(what);
    return mapAll(this.#submitter(what, ref), job);
  }

  #imap(method: string, target: unknown, items: unknown, options: ImapOptions | undefined, ordered: boolean): AsyncGenerator<unknown, void, undefined> {
    const ref = this.#target(`Cannot ${method}`, target);
    const what = `Cannot ${method} ${ref.remote}.${ref.name}`;
    this.#checkOpen(what);
    return stream(this.#submitter(what, ref), streamJob(what, items, options, ordered));
  }

  // ------------------------------------------------------------------------------ ending

  async #shutdown(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    if (this.#lostTimer !== undefined) clearInterval(this.#lostTimer);
    this.#lostTimer = undefined;
    const waiters = this.#roomWaiters;
    this.#roomWaiters = [];
    for (const wake of waiters) wake();
    try {
      await this.#ready;
    } catch {
      // Never connected: nothing to close.
    }
    this.#results?.disconnect();
    await this.#queue?.close().catch(() => {});
    await this.#client?.quit().catch(() => {});
    this.#client?.disconnect();
    this.#end();
  }

  /** Takes no more tasks, lets the pending ones finish, then lets Redis go. Resolves once they all have. */
  close(): Promise<void> {
    if (this.#state === 'running') {
      this.#state = 'closing';
      if (this.#calls.size === 0) void this.#shutdown();
    }
    return this.#ended;
  }

  /** Gives up every pending call now (each rejects with `PoolClosedError`; queued jobs are removed, running ones told to abort), then lets Redis go. */
  async terminate(): Promise<void> {
    if (this.#state !== 'closed') {
      const calls = [...this.#calls.values()];
      for (const call of calls) this.#settle(call, false, new PoolClosedError(`${call.what}: the pool was terminated before the task ended`));
      if (calls.some((c) => c.job?.added)) {
        this.#cancel(calls);
        // Let the cancellations reach Redis before the connection goes.
        await new Promise((r) => setTimeout(r, 0));
        await this.#client?.ping().catch(() => {});
      }
      void this.#shutdown();
    }
    return this.#ended;
  }

  /** Waits until the pool has ended, after `close()` or `terminate()`. */
  join(): Promise<void> {
    if (this.#state === 'running') {
      return Promise.reject(new InvalidStateError('Cannot join the pool: it still takes tasks; call close() (finish the pending tasks) or terminate() first'));
    }
    return this.#ended;
  }

  /** Terminates the pool at the end of an `await using` scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.terminate();
  }

  /** What the pool is doing, its answers' timings, and the workers it last saw (refreshed at most once a second). */
  stats(): RemotePoolStats {
    this.#hostsSoon();
    const t = this.#tally;
    let slots = 0;
    let busy = 0;
    for (const h of this.#hosts) {
      slots += h.size;
      busy += Math.min(h.busy, h.size);
    }
    return {
      size: this.size,
      workers: slots,
      busy,
      idle: slots - busy,
      starting: 0,
      queued: Math.max(0, this.#calls.size - busy),
      running: Math.min(busy, this.#calls.size),
      submitted: t.submitted,
      completed: t.completed,
      failed: t.failed,
      aborted: t.aborted,
      timedOut: t.timedOut,
      crashed: 0,
      runTime: this.#runTimes.percentiles(),
      waitTime: this.#waitTimes.percentiles(),
      hosts: this.#hosts,
      duplicates: t.duplicates,
      lost: t.lost,
    };
  }
}
