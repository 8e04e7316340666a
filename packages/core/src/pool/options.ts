/**
 * What a `Pool` and its calls take, and the checks that refuse what they cannot use: a
 * misspelt option, a size the machine cannot hold, a signal that is not one.
 */
import { AbortError, UnsupportedError } from '../errors.js';
import type { AbortSignalLike } from '../futex.js';
import { cpuCount, type ResourceLimits, type Runtime, type WorkerKind } from '../runtime.js';
import type { AnyFunction } from '../task.js';
import { checkInteger, checkOptionsObject, checkTimeout, describe } from '../validate.js';

/** Options of `new Pool()`. */
export interface PoolOptions {
  /**
   * The most workers. One per CPU (at most `size`) start with the pool, the rest as tasks need
   * them. At most 256 threads or 64 processes, or one per CPU where that is more. @default cpuCount()
   */
  readonly size?: number;
  /** `thread` (a worker thread) or `process` (an OS process where the runtime has them). @default 'thread' */
  readonly kind?: WorkerKind;
  /** A worker is replaced by a fresh one after this many tasks (a chunk of `map` counts as one), as in Python. @default unlimited */
  readonly maxTasksPerChild?: number;
  /** A worker with nothing to do for this many ms exits; the pool starts workers again when tasks come. @default never */
  readonly idleTimeout?: number;
  /** The most tasks that may wait in the pool's queue: `apply` rejects with `QueueFullError` beyond it, `map` and `imap` wait for room. 0: unbounded. @default 0 */
  readonly maxQueue?: number;
  /** How many ms a running task has to stop after its signal aborts or its timeout passes, before its worker is terminated and replaced. @default 1000 */
  readonly abortGrace?: number;
  /** The workers' name prefix: `PoolWorker-1`, `PoolWorker-2`… @default 'PoolWorker' */
  readonly name?: string;
  /**
   * Memory limits for each worker (Node: threads and processes). A worker that goes past them
   * dies with an out-of-memory error: the task it ran rejects with `WorkerExitError` and the
   * worker is replaced. Refused with a clear error where the runtime cannot enforce them.
   */
  readonly resourceLimits?: ResourceLimits;
}

/** Options of `apply()`. */
export interface ApplyOptions {
  /** Aborts the task: it rejects with `AbortError` at once; queued, it never runs; running, its `taskSignal()` aborts. */
  readonly signal?: AbortSignalLike;
  /**
   * ms the task may run: in a `Pool`, counted from when it starts running on a worker (not its
   * wait in the queue, nor its worker's start-up or the import of its task module; for a `map`,
   * from when its first chunk starts). Past it the task rejects with `TimeoutError` and is stopped
   * as an aborted one is (its `taskSignal()` aborts; a task that does not stop within `abortGrace`
   * has its worker replaced). A `RemotePool` counts from the call, its wait for a worker included.
   */
  readonly timeout?: number;
}

/** How far a `map` has come: items done out of all. */
export interface MapProgress {
  readonly done: number;
  readonly total: number;
}

/** Options of `map()` and `starmap()`. */
export interface MapOptions extends ApplyOptions {
  /** Items per task. @default Python's: ceil(items ÷ (4 × size)) */
  readonly chunksize?: number;
  /** Called each time a chunk of items is done, to draw a progress bar. */
  readonly onProgress?: (progress: MapProgress) => void;
}

/** Options of `imap()` and `imapUnordered()`. */
export interface ImapOptions {
  /** Items per task. @default 1 */
  readonly chunksize?: number;
  /** Aborts the iteration: its next step rejects with `AbortError`, and its tasks are stopped as an aborted `apply` is. */
  readonly signal?: AbortSignalLike;
}

/** The arguments after the target of `apply()`: `args` may be left out for a task without parameters. */
export type ApplyRest<F extends AnyFunction> =
  Parameters<F> extends [] ? [args?: [], options?: ApplyOptions] : [args: NoInfer<Parameters<F>>, options?: ApplyOptions];

const LIMIT_KEYS = ['maxOldGenerationSizeMb', 'maxYoungGenerationSizeMb', 'stackSizeMb'] as const;

/** The options each call takes: anything else is a misspelling, refused rather than ignored. */
const POOL_KEYS = ['size', 'kind', 'maxTasksPerChild', 'idleTimeout', 'maxQueue', 'abortGrace', 'name', 'resourceLimits'] as const;
export const APPLY_KEYS = ['signal', 'timeout'] as const;
export const MAP_KEYS = ['chunksize', 'signal', 'timeout', 'onProgress'] as const;
export const IMAP_KEYS = ['chunksize', 'signal'] as const;

/**
 * The most workers a pool may have: each is a whole JavaScript engine (on Node 20 about 10 MB as
 * a thread and 50 MB as a process), so a full pool at the limit takes about 3 GB; one per CPU is
 * always allowed, whatever the machine.
 */
const MAX_THREADS = 256;
const MAX_PROCESSES = 64;
function checkResourceLimits(what: string, limits: unknown, runtime: Runtime): ResourceLimits | undefined {
  if (limits === undefined) return undefined;
  if (typeof limits !== 'object' || limits === null) {
    throw new TypeError(`${what}: resourceLimits must be an object like { maxOldGenerationSizeMb: 64 }, got ${describe(limits)}`);
  }
  for (const key of Object.keys(limits)) {
    if (!(LIMIT_KEYS as readonly string[]).includes(key))
      throw new TypeError(`${what}: resourceLimits has no option ${key}; it takes ${LIMIT_KEYS.join(', ')}`);
    const value = (limits as Record<string, unknown>)[key];
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)) {
      throw new RangeError(`${what}: resourceLimits.${key} must be a number of MB above 0, got ${describe(value)}`);
    }
  }
  if (!runtime.capabilities.resourceLimits) {
    throw new UnsupportedError(`${what}: resourceLimits cannot be enforced on ${runtime.name} (its workers take no memory limits); leave them out there`);
  }
  return limits as ResourceLimits;
}

/** A pool's options, checked, with their defaults. */
export interface PoolConfig {
  readonly size: number;
  readonly kind: WorkerKind;
  /** 0: unlimited. */
  readonly maxTasksPerChild: number;
  readonly idleTimeout: number | undefined;
  /** 0: unbounded. */
  readonly maxQueue: number;
  readonly abortGrace: number;
  readonly name: string;
  readonly resourceLimits: ResourceLimits | undefined;
}

/** Checks `new Pool(options)` and fills in the defaults; throws what is wrong, where it is wrong. */
export function poolConfig(options: unknown, runtime: Runtime): PoolConfig {
  const what = 'Cannot create a Pool';
  const o = checkOptionsObject<PoolOptions>(what, options, POOL_KEYS);
  const kind = o.kind ?? 'thread';
  if (kind !== 'thread' && kind !== 'process') throw new TypeError(`${what}: kind must be 'thread' or 'process', got ${describe(kind)}`);
  const cpus = cpuCount();
  const size = o.size === undefined ? cpus : checkInteger(what, 'size', o.size, 1);
  const limit = Math.max(kind === 'process' ? MAX_PROCESSES : MAX_THREADS, cpus);
  if (size > limit) {
    throw new RangeError(
      `${what}: size must be at most ${limit} for a pool of ${kind === 'process' ? 'processes' : 'threads'}, got ${describe(o.size)}: each worker is a whole JavaScript engine (about ${kind === 'process' ? '50' : '10'} MB on Node), and workers beyond the ${cpus} CPUs here add no speed to tasks that compute; use a smaller size (tasks that mostly wait do better as async code, many at once)`,
    );
  }
  const maxTasksPerChild = o.maxTasksPerChild === undefined ? 0 : checkInteger(what, 'maxTasksPerChild', o.maxTasksPerChild, 1);
  const idleTimeout = o.idleTimeout === undefined ? undefined : checkTimeout(`${what}: idleTimeout`, o.idleTimeout);
  const maxQueue = o.maxQueue === undefined ? 0 : checkInteger(what, 'maxQueue', o.maxQueue, 0);
  const abortGrace = o.abortGrace === undefined ? 1000 : (checkTimeout(`${what}: abortGrace`, o.abortGrace) ?? 2 ** 31 - 1);
  if (o.name !== undefined && (typeof o.name !== 'string' || o.name === ''))
    throw new TypeError(`${what}: name must be a non-empty string, got ${describe(o.name)}`);
  const resourceLimits = checkResourceLimits(what, o.resourceLimits, runtime);
  return { size, kind, maxTasksPerChild, idleTimeout, maxQueue, abortGrace, name: o.name ?? 'PoolWorker', resourceLimits };
}

export function abortError(what: string, signal: AbortSignalLike): AbortError {
  const reason = signal.reason;
  return new AbortError(`${what}: aborted${reason instanceof Error ? `: ${reason.message}` : reason !== undefined ? `: ${String(reason)}` : ''}`, {
    cause: reason,
  });
}

export function checkChunksize(what: string, chunksize: unknown): number | undefined {
  return chunksize === undefined ? undefined : checkInteger(what, 'chunksize', chunksize, 1);
}
