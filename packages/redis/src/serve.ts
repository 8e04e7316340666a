/**
 * The worker side: `serve()` (and the `threadkit-worker` command) takes a `RemotePool`'s jobs
 * from Redis and runs them in a local threadkit `Pool`, threads or processes. The main thread
 * only moves bytes: BullMQ's lease renewals never wait behind a task that computes (the commonest
 * cause of stalled jobs), and `.ts` task modules, `abortGrace`, `resourceLimits` and a worker's
 * crash (`WorkerExitError`) come from the local pool.
 *
 * `kind: 'inline'` runs tasks on the worker's own thread instead, as a plain BullMQ processor (or
 * Celery's solo pool) does: no hop to a pool thread, for tasks that wait on I/O or are short; a
 * task that computes for longer than a lease holds up the renewals of every job the worker holds.
 * Each inline task's context, progress and `taskSignal()` come from an `AsyncLocalStorage`, so
 * concurrent tasks (up to `concurrency`) each see their own across their awaits.
 *
 * What a worker runs: only the exported functions of the task modules it was started with. A job
 * names a module and an export; nothing that arrives through Redis is ever evaluated. A job that
 * is not threadkit's fails with `ForeignJobError`, and the worker goes on.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AbortError, Pool, Queue, TaskError, TaskNotFoundError, taskModule } from '@threadkit/node';
import { Encoder } from '@threadkit/core/codec';
import { checkInteger, checkOptionsObject, checkTimeout, describe, TASK_SIGNAL_HOST } from '@threadkit/core/pool-kit';
import { type Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { AnswerSender } from './answers.js';
import { type Connection, type ConnectionConfig, connect, connectionConfig, defaultConnection, scrub } from './connection.js';
import { ForeignJobError, PayloadTooLargeError, TaskLostError } from './errors.js';
import {
  CALL_ID,
  type JobCall,
  type JobData,
  MAX_BATCH,
  PREFIX,
  ST_ERROR,
  ST_OK,
  ST_PROGRESS,
  ST_TASK_ERROR,
  VERSION,
  type WorkerInfo,
  checkName,
  keys,
  writeFrame,
} from './protocol.js';
import { execute } from './runner.js';
import { checkModuleName, INLINE, type InlineTask, type ProgressSink, type TaskContext } from './tasks.js';

/** Options of `serve()`. */
export interface ServeOptions {
  /** Where Redis is. @default process.env.REDIS_URL or redis://127.0.0.1:6379 */
  readonly connection?: Connection;
  /** The queue's name, as the `RemotePool`s calling it give it. */
  readonly name: string;
  /** The task modules this worker runs, by the name callers give `remoteTasks()`: a file URL, or a path (relative to the working directory). */
  readonly tasks: Readonly<Record<string, string | URL>>;
  /** The local pool's size (not with `kind: 'inline'`). @default cpuCount() */
  readonly size?: number;
  /**
   * Where tasks run: the local pool's threads or processes, or `'inline'`, on this worker's own
   * thread (no hop to a pool thread: for tasks that wait on I/O or are short; a task that computes
   * blocks the lease renewals of every job this worker holds, and cancellation is only what the
   * task does on its `taskSignal()`; `size`, `abortGrace`, `maxTasksPerChild` and
   * `resourceLimits` do not apply). @default 'thread'
   */
  readonly kind?: 'thread' | 'process' | 'inline';
  /** How many jobs it holds at once (running, and queued in the local pool). @default max(16, 4 × size); 16 inline */
  readonly concurrency?: number;
  /**
   * A job's lease, ms (BullMQ's `lockDuration`; renewed every lease/2 while it runs). A worker that
   * dies, or cannot reach Redis, for longer loses its jobs to other workers within 1.5 leases. @default 10000
   */
  readonly lease?: number;
  /** The local pool's `abortGrace`: how long a cancelled task has to stop before its worker is killed, ms. @default 1000 */
  readonly abortGrace?: number;
  /** The local pool's `maxTasksPerChild`. */
  readonly maxTasksPerChild?: number;
  /** The local pool's `resourceLimits`. */
  readonly resourceLimits?: { readonly maxOldGenerationSizeMb?: number; readonly maxYoungGenerationSizeMb?: number; readonly stackSizeMb?: number };
  /** The largest result in bytes, once encoded; larger ones fail with `PayloadTooLargeError`. @default 16 MiB */
  readonly maxPayload?: number;
  /** Where its log lines go (none carries a credential). @default none */
  readonly log?: (line: string) => void;
  /** How long to wait for Redis at start before `RedisConnectionError`, ms. @default 10000 */
  readonly connectTimeout?: number;
}

/** A running worker. */
export interface Server {
  /** Its id in the pool's registry (`host:pid:random`). */
  readonly id: string;
  /** Stops taking jobs, lets the running ones finish and answer, then stops the local pool and lets Redis go. */
  close(): Promise<void>;
  /** Jobs it is running and has finished. */
  stats(): { readonly busy: number; readonly done: number };
  [Symbol.asyncDispose](): Promise<void>;
}

const SERVE_KEYS = [
  'connection',
  'name',
  'tasks',
  'size',
  'kind',
  'concurrency',
  'lease',
  'abortGrace',
  'maxTasksPerChild',
  'resourceLimits',
  'maxPayload',
  'log',
  'connectTimeout',
];
const MiB = 1024 * 1024;
const runner = taskModule<typeof import('./runner.js')>(new URL('./runner.js', import.meta.url));

/** The inline tasks of this process (every `serve({ kind: 'inline' })` in it shares one). */
let inlineTasks: AsyncLocalStorage<InlineTask> | undefined;
function inlineStore(): AsyncLocalStorage<InlineTask> {
  if (!inlineTasks) {
    const store = new AsyncLocalStorage<InlineTask>();
    inlineTasks = store;
    const g = globalThis as { [INLINE]?: AsyncLocalStorage<InlineTask>; [TASK_SIGNAL_HOST]?: () => AbortSignal | undefined };
    g[INLINE] = store;
    g[TASK_SIGNAL_HOST] = () => store.getStore()?.signal;
  }
  return inlineTasks;
}

function moduleUrl(what: string, name: string, spec: unknown): string {
  if (spec instanceof URL) return spec.href;
  if (typeof spec !== 'string' || spec === '') throw new TypeError(`${what}: tasks.${name} must be a file path or URL, got ${describe(spec)}`);
  if (/^[a-z][a-z0-9+.-]*:/i.test(spec) && !/^[a-z]:[\\/]/i.test(spec)) return spec;
  const path = isAbsolute(spec) ? spec : resolvePath(process.cwd(), spec);
  if (!existsSync(path)) throw new TypeError(`${what}: tasks.${name}: no file at ${path} (relative paths start from the working directory, ${process.cwd()})`);
  return pathToFileURL(path).href;
}

function isJobData(d: unknown): d is JobData {
  if (typeof d !== 'object' || d === null) return false;
  const j = d as JobData;
  if (j.tk !== VERSION || typeof j.c !== 'string' || !/^[0-9a-f]{12}$/.test(j.c) || !Number.isInteger(j.n) || j.n < 1) return false;
  if (!Array.isArray(j.q) || j.q.length === 0 || j.q.length > MAX_BATCH) return false;
  for (const row of j.q) {
    if (!Array.isArray(row) || row.length !== 6) return false;
    const [id, m, f, k, a, p] = row;
    if (typeof id !== 'string' || !CALL_ID.test(id) || !id.startsWith(j.c)) return false;
    if (typeof m !== 'string' || typeof f !== 'string' || typeof a !== 'string' || (k !== 0 && k !== 1 && k !== 2) || (p !== 0 && p !== 1)) return false;
  }
  return true;
}

/**
 * Serves a `RemotePool`'s jobs on this machine until `close()`.
 * @example
 * const server = await serve({ name: 'render', tasks: { tasks: new URL('./tasks.js', import.meta.url) }, size: 4 });
 * process.once('SIGTERM', () => server.close());
 */
export async function serve(options: ServeOptions): Promise<Server> {
  const what = 'Cannot serve';
  if (typeof options !== 'object' || options === null)
    throw new TypeError(`${what}: give options like { name: 'render', tasks: { tasks: './tasks.js' } }, got ${describe(options)}`);
  const o = checkOptionsObject<ServeOptions>(what, options, SERVE_KEYS);
  const name = checkName(what, o.name);
  const config: ConnectionConfig = connectionConfig(what, o.connection ?? defaultConnection());
  if (typeof o.tasks !== 'object' || o.tasks === null || Object.keys(o.tasks).length === 0) {
    throw new TypeError(`${what}: tasks must name at least one task module, like { tasks: './dist/tasks.js' }, got ${describe(o.tasks)}`);
  }
  const modules = new Map<string, string>();
  for (const [m, spec] of Object.entries(o.tasks)) modules.set(checkModuleName(what, m), moduleUrl(what, m, spec));
  const kind = o.kind ?? 'thread';
  if (kind !== 'thread' && kind !== 'process' && kind !== 'inline') {
    throw new TypeError(`${what}: kind must be 'thread', 'process' or 'inline', got ${describe(kind)}`);
  }
  const inline = kind === 'inline';
  if (inline) {
    for (const k of ['size', 'abortGrace', 'maxTasksPerChild', 'resourceLimits'] as const) {
      if (o[k] !== undefined) {
        throw new TypeError(
          `${what}: ${k} is an option of the local pool, and kind 'inline' has none (its tasks run on the worker's own thread); drop ${k}, or use kind 'thread' or 'process'`,
        );
      }
    }
  }
  const lease = o.lease === undefined ? 10_000 : checkInteger(what, 'lease', o.lease, 100);
  const maxPayload = o.maxPayload === undefined ? 16 * MiB : checkInteger(what, 'maxPayload', o.maxPayload, 1);
  const log = o.log;
  if (log !== undefined && typeof log !== 'function') throw new TypeError(`${what}: log must be a function, got ${describe(log)}`);
  const connectTimeout = checkTimeout(`${what}: connectTimeout`, o.connectTimeout) ?? 10_000;

  const pool = inline
    ? undefined
    : new Pool({
        ...(o.size !== undefined ? { size: o.size } : {}),
        kind,
        ...(o.abortGrace !== undefined ? { abortGrace: o.abortGrace } : {}),
        ...(o.maxTasksPerChild !== undefined ? { maxTasksPerChild: o.maxTasksPerChild } : {}),
        ...(o.resourceLimits !== undefined ? { resourceLimits: o.resourceLimits } : {}),
        name: 'RemoteWorker',
      });
  const concurrency = o.concurrency === undefined ? Math.max(16, 4 * (pool?.size ?? 1)) : checkInteger(what, 'concurrency', o.concurrency, 1);
  // The registry's size: the tasks it runs at once (inline, every job it holds runs at once).
  const size = pool?.size ?? concurrency;
  const store = inline ? inlineStore() : undefined;

  let client: Redis;
  let sub: Redis;
  try {
    client = await connect(config, what, connectTimeout);
    sub = await connect(config, what, connectTimeout);
  } catch (error) {
    await pool?.terminate();
    throw error;
  }
  const host = hostname();
  const id = `${host}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  const where = `${host}:${process.pid}`;
  const encoder = new Encoder();
  const running = new Map<string, AbortController>();
  /** Job ids their callers gave up on before this worker took them; forgotten after a minute. */
  const cancelled = new Map<string, number>();
  let busy = 0;
  let done = 0;
  let progress: Queue<{ id: string; c: string; v: unknown }> | undefined;
  const say = (line: string): void => log?.(`threadkit-worker ${where} ${name}: ${scrub(line, config)}`);

  const answers = new AnswerSender(client);
  const push = (caller: string, frame: Buffer): Promise<void> => answers.push(keys.results(name, caller), frame);
  const encodeError = (error: unknown): Uint8Array => encoder.encode(error, 'error').slice();

  const startProgress = (): Queue<{ id: string; c: string; v: unknown }> => {
    if (progress) return progress;
    const q = new Queue<{ id: string; c: string; v: unknown }>(256);
    progress = q;
    void (async () => {
      for await (const p of q) {
        let payload: Uint8Array;
        try {
          payload = encoder.encode(p.v, 'progress').slice();
        } catch {
          continue;
        }
        await push(p.c, writeFrame(ST_PROGRESS, p.id, 0, where, payload)).catch(() => {});
      }
    })();
    return q;
  };

  /** Runs one call of a job and sends its answer; never throws. */
  const runCall = async (row: JobCall, caller: string, attempt: number, maxAttempts: number, gaveUp: boolean): Promise<void> => {
    const [callId, m, f, kind, a, wantsProgress] = row;
    const started = performance.now();
    let status = ST_OK;
    let payload: Uint8Array;
    let at = where;
    busy++;
    const controller = new AbortController();
    running.set(callId, controller);
    try {
      if (gaveUp || cancelled.has(callId)) throw new AbortError(`${m}.${f}: cancelled by its caller before it started`);
      if (attempt > maxAttempts) {
        throw new TaskLostError(
          maxAttempts === 1
            ? `${m}.${f}: its worker died or stalled while holding it, and the call allows one run at most (maxAttempts 1); it may or may not have run`
            : `${m}.${f}: its workers died or stalled under it ${maxAttempts} times (maxAttempts ${maxAttempts}); it is not run again`,
        );
      }
      const url = modules.get(m);
      if (url === undefined) {
        const e = new TaskNotFoundError(m, f, []);
        e.message = `Cannot run task: worker ${where} serves no task module named ${JSON.stringify(m)}; it serves ${[...modules.keys()].map((k) => JSON.stringify(k)).join(', ')} (start it with --tasks ${m}=./path/to/module.js)`;
        throw e;
      }
      const args = Buffer.from(a, 'base64');
      const ctx: TaskContext & { progress?: ProgressSink } = { callId, attempt, maxAttempts, worker: { id, host, pid: process.pid } };
      const sink = wantsProgress === 1 ? (startProgress() as ProgressSink) : undefined;
      let result: Uint8Array;
      if (pool) {
        if (sink) ctx.progress = sink;
        result = (await pool.apply(runner.run, [m, url, f, kind, args, ctx], { signal: controller.signal })) as Uint8Array;
      } else {
        const task: InlineTask = { ctx, progress: sink, signal: controller.signal };
        try {
          result = await execute(m, url, f, kind, args, (call) => store!.run(task, call));
        } catch (error) {
          // As the local pool reports a task's failure: a TaskError whose cause is what it threw.
          throw new TaskError(error instanceof Error ? error : new Error(String(error)), 'main');
        }
      }
      if (result.length > maxPayload) {
        throw new PayloadTooLargeError(
          `${m}.${f}: its result takes ${result.length} bytes encoded, more than the worker's maxPayload (${maxPayload}); return less, or raise maxPayload`,
          result.length,
          maxPayload,
        );
      }
      payload = result;
    } catch (error) {
      if (error instanceof TaskError) {
        const cause = error.cause as Error;
        at = error.threadName ? `${where}/${error.threadName}` : where;
        const named = cause?.name === 'TaskNotFoundError' || cause?.name === 'ForeignJobError' || cause?.name === 'DataCloneError';
        status = named ? ST_ERROR : ST_TASK_ERROR;
        payload = encodeError(cause);
      } else {
        status = ST_ERROR;
        payload = encodeError(error);
      }
    } finally {
      running.delete(callId);
      busy--;
    }
    done++;
    await push(caller, writeFrame(status, callId, performance.now() - started, at, payload));
  };

  const processor = async (job: Job): Promise<void> => {
    const data = job.data as unknown;
    const jobId = job.id ?? '';
    if (!isJobData(data) || !CALL_ID.test(jobId)) {
      say(`job ${JSON.stringify(jobId)} (${JSON.stringify(job.name)}) is not a threadkit call; failed it`);
      throw new ForeignJobError(`job ${jobId} in queue ${name} is not a threadkit call (no threadkit data); threadkit workers serve only RemotePool calls`);
    }
    const attempt = Math.max(1, job.attemptsStarted);
    const rows = data.q;
    // A batch's calls given up on before this worker heard of it left a marker.
    const marks = rows.length > 1 ? await client.mget(rows.map((r) => keys.cancelled(name, r[0]))) : undefined;
    // All in one turn: the local pool sends them to its threads in one message.
    await Promise.all(rows.map((row, i) => runCall(row, data.c, attempt, data.n, marks?.[i] === '1')));
  };

  // BullMQ leaves a connection it was given open: this one is closed after the worker.
  const workerConnection = client.duplicate();
  workerConnection.on('error', () => {});
  const worker = new Worker(name, processor, {
    connection: workerConnection,
    prefix: PREFIX,
    concurrency,
    lockDuration: lease,
    stalledInterval: Math.max(50, Math.floor(lease / 2)),
    // Re-runs are counted by the job's own attempts (maxAttempts of the call), not by BullMQ.
    maxStalledCount: 1_000_000,
    autorun: false,
  });
  let lastError = 0;
  worker.on('error', (error: Error) => {
    const now = Date.now();
    if (now - lastError > 5000) {
      lastError = now;
      say(`Redis error: ${error.message}`);
    }
  });
  worker.on('failed', (job, error) => {
    if (job && !(error instanceof ForeignJobError)) say(`job ${job.id} failed: ${error.message}`);
  });

  const onCancel = (_channel: string, message: string): void => {
    for (const jobId of message.split(' ')) {
      const c = running.get(jobId);
      if (c) c.abort(new AbortError(`cancelled by its caller`));
      else cancelled.set(jobId, Date.now());
    }
  };
  sub.on('message', onCancel);
  await sub.subscribe(keys.cancel(name));

  const registryKey = keys.workers(name);
  const heartbeat = async (): Promise<void> => {
    const info: WorkerInfo = { id, host, pid: process.pid, size, kind, modules: [...modules.keys()], busy, done, seen: Date.now() };
    await client.hset(registryKey, id, JSON.stringify(info));
    const now = Date.now();
    for (const [jobId, at] of cancelled) if (now - at > 60_000) cancelled.delete(jobId);
  };
  await heartbeat();
  const beat = setInterval(() => void heartbeat().catch(() => {}), 1000);
  beat.unref();
  void worker.run().catch((error: unknown) => say(`stopped: ${error instanceof Error ? error.message : String(error)}`));
  say(
    `serving ${[...modules.keys()].join(', ')} ${inline ? 'inline, on its own thread' : `with ${size} ${kind === 'process' ? 'processes' : 'threads'}`} (concurrency ${concurrency}, lease ${lease} ms)`,
  );

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      say('draining: taking no more jobs, finishing the running ones');
      await worker.close();
      workerConnection.disconnect();
      clearInterval(beat);
      await client.hdel(registryKey, id).catch(() => {});
      progress?.close();
      await pool?.close();
      sub.disconnect();
      await client.quit().catch(() => {});
      client.disconnect();
      say('stopped');
    })());
  return {
    id,
    close,
    stats: () => ({ busy, done }),
    [Symbol.asyncDispose]: close,
  };
}
