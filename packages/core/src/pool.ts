/**
 * `Pool`: Python's `multiprocessing.Pool` (and a `concurrent.futures` executor) for threadkit,
 * on every runtime. Long-lived workers, threads or processes, run many tasks each.
 *
 * How tasks travel: the pool keeps one queue; each worker holds a short window of tasks (the one
 * it runs and the next few), sized from how long the task has been taking, so a worker never
 * waits for its next task and a slow task never holds many behind it. Tasks go to a worker in
 * batches, one message for many tasks, and come back the same way; `map` cuts its items into
 * chunks as Python does. A worker runs its tasks one at a time, in order.
 *
 * What can go wrong: a task that throws rejects its own promise and the worker stays; a worker
 * that dies rejects the task it was running (and any that had ended but whose results died with
 * it), and the tasks it held but had not started run elsewhere; a dead worker is replaced. An
 * aborted or timed-out task rejects at once; if it was running, its `taskSignal()` aborts, and if
 * it does not stop within `abortGrace`, its worker is terminated and replaced.
 *
 * Workers start without blocking the caller: the first few (one per CPU, at most `size`) in the
 * turns after the pool is created, the rest as tasks find no worker with room, a few per turn.
 */
import { _clearTimeout, _now, _setTimeout, _setWeakTimeout, _asyncDispose, type TimerHandle } from './_globals.js';
import { explainCloneError, findUncloneable, isCloneFailure } from './clone.js';
import { AbortError, EOFError, InvalidStateError, UnsupportedError, PoolClosedError, QueueFullError, TaskError, TimeoutError, WorkerExitError, WorkerStartError, deserializeError } from './errors.js';
import { allocate, keepAlive, type AbortSignalLike } from './futex.js';
import { marshal, type MarshalContext } from './handle.js';
import { CTL_CANCELS, CTL_RING, CTL_TAKEN, CTL_WORDS, CANCEL_RING } from './pool-worker.js';
import { Reservoir, type Percentiles } from './pool-stats.js';
import {
  DONE_FAILED,
  DONE_SKIPPED,
  MODE_APPLY,
  MODE_FLUSH_FIRST,
  MODE_MAP,
  MODE_NUMBERS,
  MODE_STARMAP,
  envelope,
  unwrap,
  type CancelReason,
  type FromWorker,
  type PoolFailure,
  type TargetSpec,
  type TaskMode,
} from './protocol.js';
import { Endpoint } from './rpc.js';
import { Decoder, Encoder } from './codec.js';
import { _allocateTag, _markDead, cpuCount, getRuntime, type ResourceLimits, type Runtime, type WorkerHandle, type WorkerKind } from './runtime.js';
import { targetName, targetSpec, type AnyFunction, type Target } from './task.js';
import { failureError } from './thread.js';
import { checkInteger, checkOptionsObject, checkTimeout, describe } from './validate.js';

export { taskSignal } from './pool-worker.js';
export type { Percentiles } from './pool-stats.js';

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

const LIMIT_KEYS = ['maxOldGenerationSizeMb', 'maxYoungGenerationSizeMb', 'stackSizeMb'] as const;

/** The options each call takes: anything else is a misspelling, refused rather than ignored. */
const POOL_KEYS = ['size', 'kind', 'maxTasksPerChild', 'idleTimeout', 'maxQueue', 'abortGrace', 'name', 'resourceLimits'] as const;
const APPLY_KEYS = ['signal', 'timeout'] as const;
const MAP_KEYS = ['chunksize', 'signal', 'timeout', 'onProgress'] as const;
const IMAP_KEYS = ['chunksize', 'signal'] as const;

/**
 * The most workers a pool may have: each is a whole JavaScript engine (on Node 20 about 10 MB as
 * a thread and 50 MB as a process), so a full pool at the limit takes about 3 GB; one per CPU is
 * always allowed, whatever the machine.
 */
const MAX_THREADS = 256;
const MAX_PROCESSES = 64;
/** ms a turn may spend starting workers (at least one) before the rest wait for the next turn. */
const SPAWN_SLICE_MS = 8;

function checkResourceLimits(what: string, limits: unknown, runtime: Runtime): ResourceLimits | undefined {
  if (limits === undefined) return undefined;
  if (typeof limits !== 'object' || limits === null) {
    throw new TypeError(`${what}: resourceLimits must be an object like { maxOldGenerationSizeMb: 64 }, got ${describe(limits)}`);
  }
  for (const key of Object.keys(limits)) {
    if (!(LIMIT_KEYS as readonly string[]).includes(key)) throw new TypeError(`${what}: resourceLimits has no option ${key}; it takes ${LIMIT_KEYS.join(', ')}`);
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

/** Options of `apply()`. */
export interface ApplyOptions {
  /** Aborts the task: it rejects with `AbortError` at once; queued, it never runs; running, its `taskSignal()` aborts. */
  readonly signal?: AbortSignalLike;
  /** ms from the call; past it the task rejects with `TimeoutError` and is stopped as an aborted one is. */
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

/** What `Pool.stats()` reports. */
export interface PoolStats {
  /** The most workers the pool may have (its `size`); they start as tasks need them. */
  readonly size: number;
  /** Workers alive (starting, busy or idle), not counting those on their way out: at most `size`. */
  readonly workers: number;
  readonly busy: number;
  readonly idle: number;
  readonly starting: number;
  /** Tasks waiting in the pool's queue. */
  readonly queued: number;
  /** Tasks handed to a worker and not yet ended: the ones running and the few each worker holds next. */
  readonly running: number;
  readonly submitted: number;
  readonly completed: number;
  /** Tasks that threw, or whose worker died under them. */
  readonly failed: number;
  readonly aborted: number;
  readonly timedOut: number;
  /** Workers that died and were replaced (crashes, `exit()`, terminated after `abortGrace`). */
  readonly crashed: number;
  /** How long tasks ran inside their worker (a `map` chunk counts as one task), ms. */
  readonly runTime: Percentiles;
  /** How long tasks waited from submission until they started, ms. */
  readonly waitTime: Percentiles;
}

/** The arguments after the target of `apply()`: `args` may be left out for a task without parameters. */
export type ApplyRest<F extends AnyFunction> = Parameters<F> extends [] ? [args?: [], options?: ApplyOptions] : [args: NoInfer<Parameters<F>>, options?: ApplyOptions];

// ---------------------------------------------------------------------------------------------

/** ms of work a worker may hold beyond the task it runs, by the task's running estimate. */
const WINDOW_MS = 2;
/** A worker whose task should end within this many ms holds the next one too, so it never waits for it. */
const PREFETCH_MS = 50;
/** A task estimated to run this many ms or more is flagged so its worker sends what it holds first. */
const LONG_TASK_MS = 1;
/** The most tasks a worker holds. */
const MAX_WINDOW = 512;
/** The most chunks an `imap` has in the pool at once (it reads its input no further ahead). */
const READ_AHEAD = 64;
/** Consecutive workers that die before they are ready, after which the pool gives up. */
const START_FAILURES = 3;

const QUEUED = 0;
const SENT = 1;
const DONE = 2;

/** A target as the pool knows it: its number on the wire and how long it takes. */
interface TargetRec {
  readonly index: number;
  readonly spec: TargetSpec;
  readonly name: string;
  readonly module: string | undefined;
  /** ms per item, a moving average; -1 until known. */
  perItem: number;
}

/** Receives the ends of a `map`'s or `imap`'s chunks. */
interface Group {
  chunkDone(task: Task, ok: boolean, value: unknown): void;
}

class Task {
  state = QUEUED;
  worker: Slot | undefined = undefined;
  /** The running estimate this task added to its worker's load. */
  est = 0;
  resolve: ((value: unknown) => void) | undefined = undefined;
  reject: ((error: unknown) => void) | undefined = undefined;
  group: Group | undefined = undefined;
  /** Where this chunk's items start in a `map`. */
  offset = 0;
  signal: AbortSignalLike | undefined = undefined;
  onAbort: (() => void) | undefined = undefined;
  timer: TimerHandle | undefined = undefined;
  /** Cancelled without a grace period: it may finish, nobody waits for it. */
  quiet = false;
  /** For `imap`: how it ended. */
  ok = false;
  value: unknown = undefined;

  constructor(
    readonly id: number,
    readonly rec: TargetRec,
    readonly mode: TaskMode,
    public payload: unknown,
    readonly count: number,
    readonly submitted: number,
  ) {}
}

/** The parent's side of one worker. */
class Slot {
  handle!: WorkerHandle;
  tag = 0;
  endpoint!: Endpoint;
  ctx!: MarshalContext;
  readonly sent = new Set<object>();
  ctl: Int32Array | undefined;
  /** Tasks sent and not yet reported, in order, from `head`. */
  window: (Task | undefined)[] = [];
  head = 0;
  /** The estimated ms of the tasks in the window. */
  load = 0;
  assigned = 0;
  reported = 0;
  /** Without shared memory: how many of its tasks the worker said it had taken (run or skipped). */
  taken = 0;
  readonly known = new Set<number>();
  ready = false;
  /** Told to close (retired, or the pool closing): it takes nothing more. */
  closing = false;
  exited = false;
  /** Its first task was aborted and has not stopped: it takes nothing more until it does. */
  stuck = false;
  grace: TimerHandle | undefined;
  graceTask: Task | undefined;
  idle: TimerHandle | undefined;
  /** Terminated because this task did not stop in time. */
  killedFor: Task | undefined;
  uncaught: Error | undefined;
  runtimeError: Error | undefined;
  /** What the runtime said killed it after it started (e.g. out of memory). */
  crash: Error | undefined;
  requestedExit: number | undefined;

  constructor(readonly name: string) {}

  get pending(): number {
    return this.window.length - this.head;
  }

  first(): Task | undefined {
    return this.window[this.head];
  }

  shift(): Task | undefined {
    const task = this.window[this.head];
    if (!task) return undefined;
    this.window[this.head++] = undefined;
    if (this.head === this.window.length) {
      this.window.length = 0;
      this.head = 0;
      this.load = 0;
    } else if (this.head >= 64 && this.head * 2 >= this.window.length) {
      this.window.splice(0, this.head);
      this.head = 0;
    }
    return task;
  }

  /** The tasks not yet reported, taken out of the window. */
  takeAll(): Task[] {
    const out = this.window.slice(this.head) as Task[];
    this.window = [];
    this.head = 0;
    this.load = 0;
    return out;
  }
}

let workerCounter = 0;
// Tasks and results travel encoded by core's codec (several times faster than structured clone
// for arrays and objects).
const encoder = new Encoder();
const decoder = new Decoder();
const resolved = Promise.resolve();

function abortError(what: string, signal: AbortSignalLike): AbortError {
  const reason = signal.reason;
  return new AbortError(`${what}: aborted${reason instanceof Error ? `: ${reason.message}` : reason !== undefined ? `: ${String(reason)}` : ''}`, { cause: reason });
}

function checkSignal(what: string, signal: unknown): AbortSignalLike | undefined {
  if (signal === undefined) return undefined;
  if (typeof signal !== 'object' || signal === null || typeof (signal as AbortSignalLike).addEventListener !== 'function' || typeof (signal as AbortSignalLike).aborted !== 'boolean') {
    throw new TypeError(`${what}: signal must be an AbortSignal, got ${describe(signal)}`);
  }
  return signal as AbortSignalLike;
}

function checkChunksize(what: string, chunksize: unknown): number | undefined {
  return chunksize === undefined ? undefined : checkInteger(what, 'chunksize', chunksize, 1);
}

/** Whether a chunk is all numbers (then it travels as a Float64Array, copied byte for byte). */
function allNumbers(items: readonly unknown[]): boolean {
  if (items.length < 16) return false;
  for (let i = 0; i < items.length; i++) if (typeof items[i] !== 'number') return false;
  return true;
}

function isIterable(value: unknown): value is Iterable<unknown> {
  return value !== null && value !== undefined && typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function';
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return value !== null && value !== undefined && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
}

/**
 * A pool of workers that run tasks: Python's `multiprocessing.Pool`. Workers start with the
 * pool and are replaced when they die; `await using` (or `terminate()`) stops them.
 * @example
 * const tasks = taskModule<typeof import('./tasks.ts')>(new URL('./tasks.ts', import.meta.url));
 * await using pool = new Pool({ size: 4 });
 * const hash = await pool.apply(tasks.sha256, [bytes]);
 * const primes = await pool.map(tasks.countPrimes, ranges, { onProgress: ({ done, total }) => bar(done / total) });
 * for await (const line of pool.imap(tasks.render, rows)) print(line);
 */
export class Pool {
  /** The most workers; fewer may be alive (`stats().workers`), as they start when tasks need them. */
  readonly size: number;
  /** What its workers are: threads or processes. */
  readonly kind: WorkerKind;

  readonly #runtime: Runtime;
  readonly #name: string;
  readonly #maxTasksPerChild: number;
  readonly #idleTimeout: number | undefined;
  readonly #maxQueue: number;
  readonly #abortGrace: number;

  #state: 'running' | 'closing' | 'terminated' | 'broken' = 'running';
  #brokenBy: Error | undefined;
  #workers: Slot[] = [];
  #queue: (Task | undefined)[] = [];
  #qhead = 0;
  #queued = 0;
  #unsettled = 0;
  #ids = 0;
  #recs: TargetRec[] = [];
  #byObject = new WeakMap<object, TargetRec>();
  #byKey = new Map<string, TargetRec>();
  #pumpScheduled = false;
  #roomWaiters: (() => void)[] = [];
  #startFailures = 0;
  /** Workers still to start ahead of demand (one per CPU, at most `size`, after the pool is created). */
  #prestart: number;
  /** Set while starting more workers waits for the next turn. */
  #growTimer: TimerHandle | undefined;
  /** Lets the program end again, while the pool keeps it alive. */
  #letGo: (() => void) | undefined;
  readonly #resourceLimits: ResourceLimits | undefined;
  #ended: Promise<void>;
  #markEnded!: () => void;
  #hasEnded = false;

  #submitted = 0;
  #completed = 0;
  #failed = 0;
  #aborted = 0;
  #timedOut = 0;
  #crashed = 0;
  readonly #runTimes = new Reservoir();
  readonly #waitTimes = new Reservoir();

  constructor(options: PoolOptions = {}) {
    const what = 'Cannot create a Pool';
    const o = checkOptionsObject<PoolOptions>(what, options, POOL_KEYS);
    const runtime = getRuntime();
    const kind = o.kind ?? 'thread';
    if (kind !== 'thread' && kind !== 'process') throw new TypeError(`${what}: kind must be 'thread' or 'process', got ${describe(kind)}`);
    this.kind = kind;
    const cpus = cpuCount();
    this.size = o.size === undefined ? cpus : checkInteger(what, 'size', o.size, 1);
    const limit = Math.max(kind === 'process' ? MAX_PROCESSES : MAX_THREADS, cpus);
    if (this.size > limit) {
      throw new RangeError(
        `${what}: size must be at most ${limit} for a pool of ${kind === 'process' ? 'processes' : 'threads'}, got ${describe(o.size)}: each worker is a whole JavaScript engine (about ${kind === 'process' ? '50' : '10'} MB on Node), and workers beyond the ${cpus} CPUs here add no speed to tasks that compute; use a smaller size (tasks that mostly wait do better as async code, many at once)`,
      );
    }
    this.#maxTasksPerChild = o.maxTasksPerChild === undefined ? 0 : checkInteger(what, 'maxTasksPerChild', o.maxTasksPerChild, 1);
    this.#idleTimeout = o.idleTimeout === undefined ? undefined : checkTimeout(`${what}: idleTimeout`, o.idleTimeout);
    this.#maxQueue = o.maxQueue === undefined ? 0 : checkInteger(what, 'maxQueue', o.maxQueue, 0);
    this.#abortGrace = o.abortGrace === undefined ? 1000 : (checkTimeout(`${what}: abortGrace`, o.abortGrace) ?? 2 ** 31 - 1);
    if (o.name !== undefined && (typeof o.name !== 'string' || o.name === '')) throw new TypeError(`${what}: name must be a non-empty string, got ${describe(o.name)}`);
    this.#name = o.name ?? 'PoolWorker';
    this.#resourceLimits = checkResourceLimits(what, o.resourceLimits, runtime);
    this.#runtime = runtime;
    this.#ended = new Promise((resolve) => (this.#markEnded = resolve));
    // Starting a worker takes milliseconds of the caller's thread (tens for a process): none start
    // here; one per CPU start over the next turns, the rest when tasks need them.
    this.#prestart = Math.min(this.size, cpus);
    this.#growTimer = _setWeakTimeout(() => {
      this.#growTimer = undefined;
      this.#pump();
    }, 0);
  }

  // ------------------------------------------------------------------------------ submitting

  /**
   * Runs `target(...args)` in a worker; resolves with its value, or rejects with its error
   * (`TaskError`, with the remote stack). Python's `apply_async(...).get()`.
   * @example
   * const sum = await pool.apply(tasks.add, [2, 3], { timeout: 1000 });
   */
  apply<F extends AnyFunction>(target: Target<F>, ...rest: ApplyRest<F>): Promise<Awaited<ReturnType<F>>> {
    const [args = [], options] = rest as [unknown[] | undefined, ApplyOptions | undefined];
    let rec: TargetRec;
    let signal: AbortSignalLike | undefined;
    let timeout: number | undefined;
    try {
      rec = this.#target(target, 'Cannot apply');
      const what = `Cannot apply ${rec.name}`;
      this.#checkOpen(what);
      if (!Array.isArray(args)) throw new TypeError(`${what}: args must be an array of arguments, got ${describe(args)}`);
      if (options !== undefined) {
        const o = checkOptionsObject<ApplyOptions>(what, options, APPLY_KEYS);
        signal = checkSignal(what, o.signal);
        timeout = checkTimeout(what, o.timeout);
        if (signal?.aborted) throw abortError(what, signal);
      }
      if (this.#maxQueue > 0 && this.#queued >= this.#maxQueue) {
        throw new QueueFullError(`${what}: the pool's queue is full (maxQueue ${this.#maxQueue}); wait for some results first, or create the Pool with a larger maxQueue`);
      }
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      const task = this.#newTask(rec, MODE_APPLY, args, 1);
      task.resolve = resolve as (value: unknown) => void;
      task.reject = reject;
      if (signal || timeout !== undefined) this.#watch(task, `Cannot apply ${rec.name}`, signal, timeout);
      this.#enqueue(task);
    });
  }

  /**
   * Calls `target(item)` for every item, in workers, and resolves with the results in order:
   * Python's `Pool.map`. Items go in chunks (`chunksize`; by default as Python cuts them).
   * The first task to fail rejects the whole map, and the chunks not yet started are dropped.
   * @example
   * const lengths = await pool.map(tasks.wordCount, files, { onProgress: (p) => draw(p.done / p.total) });
   */
  // biome-ignore lint: any keeps the item type of any one-parameter function
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  map<F extends (item: any) => any>(target: Target<F>, items: Iterable<NoInfer<Parameters<F>[0]>>, options?: MapOptions): Promise<Awaited<ReturnType<F>>[]> {
    return this.#mapAll('map', MODE_MAP, target, items, options) as Promise<Awaited<ReturnType<F>>[]>;
  }

  /** Like {@link map}, but each item is an array of arguments: `target(...item)`. Python's `Pool.starmap`. */
  starmap<F extends AnyFunction>(target: Target<F>, items: Iterable<NoInfer<Parameters<F>>>, options?: MapOptions): Promise<Awaited<ReturnType<F>>[]> {
    return this.#mapAll('starmap', MODE_STARMAP, target, items, options) as Promise<Awaited<ReturnType<F>>[]>;
  }

  /**
   * Like {@link map}, but streams: results come in order as they are ready, and the items
   * (any iterable or async iterable, even an endless one) are read only as far ahead as needed.
   * A failed task throws from the loop at its place. Python's `Pool.imap`.
   * @example
   * for await (const digest of pool.imap(tasks.sha256, readChunks(file), { chunksize: 4 })) out.write(digest);
   */
  // biome-ignore lint: any keeps the item type of any one-parameter function
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  imap<F extends (item: any) => any>(target: Target<F>, items: Iterable<NoInfer<Parameters<F>[0]>> | AsyncIterable<NoInfer<Parameters<F>[0]>>, options?: ImapOptions): AsyncGenerator<Awaited<ReturnType<F>>, void, undefined> {
    return this.#startStream('imap', target, items, options, true) as AsyncGenerator<Awaited<ReturnType<F>>, void, undefined>;
  }

  /** Like {@link imap}, but results come in the order they are ready. Python's `Pool.imap_unordered`. */
  // biome-ignore lint: any keeps the item type of any one-parameter function
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  imapUnordered<F extends (item: any) => any>(target: Target<F>, items: Iterable<NoInfer<Parameters<F>[0]>> | AsyncIterable<NoInfer<Parameters<F>[0]>>, options?: ImapOptions): AsyncGenerator<Awaited<ReturnType<F>>, void, undefined> {
    return this.#startStream('imapUnordered', target, items, options, false) as AsyncGenerator<Awaited<ReturnType<F>>, void, undefined>;
  }

  // ------------------------------------------------------------------------------ ending

  /**
   * Takes no more tasks, lets the queued ones finish, then lets the workers go. Resolves once
   * they all have (Python's `close()` then `join()`).
   */
  close(): Promise<void> {
    if (this.#state === 'running') {
      this.#state = 'closing';
      this.#pump();
      this.#updateKeepAlive();
    }
    return this.#ended;
  }

  /**
   * Stops every worker now. Every task not yet ended rejects with `PoolClosedError`. Resolves
   * once the workers are gone. `await using` calls it at the end of the scope, as Python's
   * `with Pool()` does.
   */
  terminate(): Promise<void> {
    if (this.#state === 'terminated') return this.#ended;
    this.#state = 'terminated';
    _clearTimeout(this.#growTimer);
    this.#growTimer = undefined;
    const error = (name: string) => new PoolClosedError(`Cannot finish ${name}: the pool was terminated`);
    for (let i = this.#qhead; i < this.#queue.length; i++) {
      const task = this.#queue[i];
      if (task && task.state !== DONE) this.#settle(task, false, error(task.rec.name));
    }
    this.#queue = [];
    this.#qhead = 0;
    this.#queued = 0;
    // A copy: a runtime may report a worker's exit from inside terminate(), which takes it off the list.
    for (const w of [...this.#workers]) {
      for (let i = w.head; i < w.window.length; i++) {
        const task = w.window[i];
        if (task && task.state !== DONE) this.#settle(task, false, error(task.rec.name));
      }
      this.#clearTimers(w);
      w.closing = true;
      w.handle.terminate();
    }
    this.#wakeRoomWaiters();
    this.#updateKeepAlive();
    this.#checkEnded();
    return this.#ended;
  }

  /** Waits until every worker has gone, after `close()` or `terminate()`; Python's `join()`. */
  join(): Promise<void> {
    if (this.#state === 'running') {
      return Promise.reject(new InvalidStateError('Cannot join the pool: it still takes tasks; call close() (finish the queued tasks) or terminate() first'));
    }
    return this.#ended;
  }

  /** Terminates the pool at the end of an `await using` scope. */
  [_asyncDispose](): Promise<void> {
    return this.terminate();
  }

  /** What the pool is doing, and how long tasks have been taking. */
  stats(): PoolStats {
    let busy = 0;
    let idle = 0;
    let starting = 0;
    let running = 0;
    for (const w of this.#workers) {
      running += w.pending;
      if (w.closing) continue;
      if (!w.ready) starting++;
      else if (w.pending > 0) busy++;
      else idle++;
    }
    return {
      size: this.size,
      workers: busy + idle + starting,
      busy,
      idle,
      starting,
      queued: this.#queued,
      running,
      submitted: this.#submitted,
      completed: this.#completed,
      failed: this.#failed,
      aborted: this.#aborted,
      timedOut: this.#timedOut,
      crashed: this.#crashed,
      runTime: this.#runTimes.percentiles(),
      waitTime: this.#waitTimes.percentiles(),
    };
  }

  // ------------------------------------------------------------------------------ internals: submitting

  #target(target: unknown, what: string): TargetRec {
    if ((typeof target === 'object' && target !== null) || typeof target === 'function') {
      const hit = this.#byObject.get(target);
      if (hit) return hit;
    }
    const spec = targetSpec(target, what);
    const key = spec.kind === 'module' ? `m${spec.url}#${spec.name}` : `s${spec.source}`;
    let rec = this.#byKey.get(key);
    if (!rec) {
      rec = { index: this.#recs.length, spec, name: targetName(target), module: spec.kind === 'module' ? spec.url : undefined, perItem: -1 };
      this.#recs.push(rec);
      this.#byKey.set(key, rec);
    }
    this.#byObject.set(target as object, rec);
    return rec;
  }

  #checkOpen(what: string): void {
    if (this.#state === 'running') return;
    if (this.#state === 'broken') throw new WorkerStartError(`${what}: the pool's workers cannot start: ${this.#brokenBy?.message}`, { cause: this.#brokenBy });
    throw new PoolClosedError(`${what}: the pool is closed (close() or terminate() was called); create a new Pool`);
  }

  #newTask(rec: TargetRec, mode: TaskMode, payload: unknown, count: number): Task {
    this.#ids = (this.#ids % 0x7fffffff) + 1;
    this.#submitted++;
    if (this.#unsettled++ === 0) this.#updateKeepAlive();
    return new Task(this.#ids, rec, mode, payload, count, _now());
  }

  #enqueue(task: Task): void {
    this.#queue.push(task);
    this.#queued++;
    this.#schedulePump();
  }

  /** Puts tasks back at the front of the queue, in their order (their worker died before starting them). */
  #requeue(tasks: Task[]): void {
    for (const task of tasks) {
      task.state = QUEUED;
      task.worker = undefined;
    }
    this.#queue.splice(this.#qhead, 0, ...tasks);
    this.#queued += tasks.length;
  }

  #dequeue(): Task | undefined {
    const q = this.#queue;
    while (this.#qhead < q.length) {
      const task = q[this.#qhead];
      q[this.#qhead++] = undefined;
      if (task && task.state === QUEUED) {
        this.#queued--;
        if (this.#qhead >= 1024 && this.#qhead * 2 >= q.length) {
          q.splice(0, this.#qhead);
          this.#qhead = 0;
        }
        if (this.#roomWaiters.length > 0) this.#wakeRoomWaiters();
        return task;
      }
    }
    q.length = 0;
    this.#qhead = 0;
    return undefined;
  }

  /** Aborts the task when the signal aborts or the timeout passes. */
  #watch(task: Task, what: string, signal: AbortSignalLike | undefined, timeout: number | undefined): void {
    if (signal) {
      const onAbort = (): void => this.#abort(task, abortError(what, signal), 'abort');
      task.signal = signal;
      task.onAbort = onAbort;
      signal.addEventListener('abort', onAbort, { once: true });
    }
    if (timeout !== undefined) {
      task.timer = _setWeakTimeout(() => this.#abort(task, new TimeoutError(`${what}: it did not finish within ${timeout} ms`), 'timeout'), timeout);
    }
  }

  /** Resolves once the queue has room (or the pool stopped: the caller checks again). */
  #whenRoom(): Promise<void> {
    return new Promise((resolve) => this.#roomWaiters.push(resolve));
  }

  #wakeRoomWaiters(): void {
    const waiters = this.#roomWaiters;
    this.#roomWaiters = [];
    for (const wake of waiters) wake();
  }

  async #mapAll(method: string, mode: TaskMode, target: unknown, items: unknown, options: MapOptions | undefined): Promise<unknown[]> {
    const rec = this.#target(target, `Cannot ${method}`);
    const what = `Cannot ${method} ${rec.name}`;
    this.#checkOpen(what);
    if (!isIterable(items)) {
      throw new TypeError(`${what}: items must be an iterable (an array, a Set, a generator…)${isAsyncIterable(items) ? '; for an async iterable use imap()' : ''}, got ${describe(items)}`);
    }
    const o = checkOptionsObject<MapOptions>(what, options, MAP_KEYS);
    const signal = checkSignal(what, o.signal);
    const timeout = checkTimeout(what, o.timeout);
    const onProgress = o.onProgress;
    if (onProgress !== undefined && typeof onProgress !== 'function') throw new TypeError(`${what}: onProgress must be a function, got ${describe(onProgress)}`);
    const chunkOption = checkChunksize(what, o.chunksize);
    const list = Array.isArray(items) ? items : [...items];
    if (mode === MODE_STARMAP) {
      for (let i = 0; i < list.length; i++) {
        if (!Array.isArray(list[i])) throw new TypeError(`${what}: each item must be an array of arguments, got ${describe(list[i])} at items[${i}]`);
      }
    }
    if (signal?.aborted) throw abortError(what, signal);
    const total = list.length;
    if (total === 0) return [];
    // Python's default: four chunks per worker.
    const chunksize = chunkOption ?? Math.ceil(total / (this.size * 4));
    const out = new Array<unknown>(total);
    const tasks: Task[] = [];
    let done = 0;
    let left = Math.ceil(total / chunksize);
    let settled = false;
    return new Promise<unknown[]>((resolve, reject) => {
      let timer: TimerHandle | undefined;
      const finish = (error: unknown, reason?: CancelReason): void => {
        if (settled) return;
        settled = true;
        if (signal) signal.removeEventListener('abort', onAbort);
        _clearTimeout(timer);
        if (error === undefined) return resolve(out);
        // An abort stops the running chunks as an aborted apply is stopped; after a failure they may finish.
        for (const t of tasks) if (t.state !== DONE) this.#abort(t, error as Error, reason ?? 'abort', reason === undefined);
        reject(error);
      };
      const onAbort = (): void => finish(abortError(what, signal!), 'abort');
      if (signal) signal.addEventListener('abort', onAbort, { once: true });
      if (timeout !== undefined) timer = _setWeakTimeout(() => finish(new TimeoutError(`${what}: it did not finish within ${timeout} ms`), 'timeout'), timeout);
      const group: Group = {
        chunkDone: (task, ok, value) => {
          if (settled) return;
          if (!ok) return finish(value);
          const values = value as ArrayLike<unknown>;
          for (let i = 0; i < values.length; i++) out[task.offset + i] = values[i];
          done += task.count;
          if (onProgress) {
            try {
              onProgress({ done, total });
            } catch (error) {
              return finish(error);
            }
          }
          if (--left === 0) finish(undefined);
        },
      };
      const submit = async (): Promise<void> => {
        for (let at = 0; at < total && !settled; at += chunksize) {
          while (this.#maxQueue > 0 && this.#queued >= this.#maxQueue && this.#state === 'running' && !settled) await this.#whenRoom();
          if (settled) return;
          this.#checkOpen(what);
          const task = this.#newTask(rec, mode, list.slice(at, at + chunksize), Math.min(chunksize, total - at));
          task.group = group;
          task.offset = at;
          tasks.push(task);
          this.#enqueue(task);
        }
      };
      submit().catch((error: unknown) => finish(error));
    });
  }

  #startStream(method: string, target: unknown, items: unknown, options: ImapOptions | undefined, ordered: boolean): AsyncGenerator<unknown, void, undefined> {
    const rec = this.#target(target, `Cannot ${method}`);
    const what = `Cannot ${method} ${rec.name}`;
    this.#checkOpen(what);
    let source: Iterator<unknown> | AsyncIterator<unknown>;
    let isAsync: boolean;
    if (isAsyncIterable(items)) {
      source = items[Symbol.asyncIterator]();
      isAsync = true;
    } else if (isIterable(items)) {
      source = items[Symbol.iterator]();
      isAsync = false;
    } else {
      throw new TypeError(`${what}: items must be an iterable or an async iterable, got ${describe(items)}`);
    }
    const o = checkOptionsObject<ImapOptions>(what, options, IMAP_KEYS);
    const signal = checkSignal(what, o.signal);
    const chunksize = checkChunksize(what, o.chunksize) ?? 1;
    return this.#stream(what, rec, source, isAsync, chunksize, signal, ordered);
  }

  async *#stream(
    what: string,
    rec: TargetRec,
    source: Iterator<unknown> | AsyncIterator<unknown>,
    isAsync: boolean,
    chunksize: number,
    signal: AbortSignalLike | undefined,
    ordered: boolean,
  ): AsyncGenerator<unknown, void, undefined> {
    const inflight: Task[] = [];
    const ready: Task[] = [];
    let wake: (() => void) | undefined;
    let failure: Error | undefined;
    let sourceDone = false;
    const limit = Math.max(READ_AHEAD, 4 * this.size);
    const group: Group = {
      chunkDone: (task, ok, value) => {
        task.ok = ok;
        task.value = value;
        if (!ordered) ready.push(task);
        wake?.();
      },
    };
    const onAbort = (): void => {
      failure ??= abortError(what, signal!);
      for (const t of inflight) if (t.state !== DONE) this.#abort(t, failure, 'abort');
      this.#wakeRoomWaiters();
      wake?.();
    };
    if (signal) signal.addEventListener('abort', onAbort, { once: true });
    try {
      if (signal?.aborted) throw abortError(what, signal);
      for (;;) {
        while (!sourceDone && inflight.length < limit) {
          const chunk: unknown[] = [];
          while (chunk.length < chunksize) {
            const step = isAsync ? await (source as AsyncIterator<unknown>).next() : (source as Iterator<unknown>).next();
            if (step.done) {
              sourceDone = true;
              break;
            }
            chunk.push(step.value);
          }
          if (chunk.length === 0) break;
          while (this.#maxQueue > 0 && this.#queued >= this.#maxQueue && this.#state === 'running' && !failure) await this.#whenRoom();
          if (failure) throw failure;
          this.#checkOpen(what);
          const task = this.#newTask(rec, MODE_MAP, chunk, chunk.length);
          task.group = group;
          inflight.push(task);
          this.#enqueue(task);
        }
        if (inflight.length === 0) return;
        let task: Task | undefined;
        for (;;) {
          if (failure) throw failure;
          task = ordered ? (inflight[0]!.state === DONE ? inflight[0] : undefined) : ready.shift();
          if (task) break;
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
        }
        if (ordered) inflight.shift();
        else inflight.splice(inflight.indexOf(task), 1);
        if (!task.ok) throw task.value;
        const values = task.value as ArrayLike<unknown>;
        task.value = undefined;
        for (let i = 0; i < values.length; i++) yield values[i];
      }
    } finally {
      if (signal) signal.removeEventListener('abort', onAbort);
      // Ended early (a break, an error): what was read ahead is not needed any more.
      for (const t of inflight) if (t.state !== DONE) this.#abort(t, new AbortError(`${what}: the iteration ended before this chunk was needed`), 'abort', true);
      if (!sourceDone) await source.return?.();
    }
  }

  // ------------------------------------------------------------------------------ internals: ending tasks

  #settle(task: Task, ok: boolean, value: unknown): void {
    task.state = DONE;
    task.payload = undefined;
    if (task.onAbort) task.signal!.removeEventListener('abort', task.onAbort);
    if (task.timer !== undefined) _clearTimeout(task.timer);
    if (--this.#unsettled === 0) this.#updateKeepAlive();
    if (task.group) task.group.chunkDone(task, ok, value);
    else if (ok) task.resolve!(value);
    else task.reject!(value);
  }

  /**
   * Ends a task early with `error`. Queued, it never runs. Sent to a worker, the worker skips it,
   * or (running) its `taskSignal()` aborts; unless `quiet`, a worker whose running task does not
   * stop within `abortGrace` is terminated.
   */
  #abort(task: Task, error: Error, reason: CancelReason, quiet = false): void {
    if (task.state === DONE) return;
    if (!quiet) {
      if (reason === 'timeout') this.#timedOut++;
      else this.#aborted++;
    }
    if (task.state === QUEUED) {
      this.#queued--;
      this.#settle(task, false, error);
      if (this.#roomWaiters.length > 0) this.#wakeRoomWaiters();
      return;
    }
    const w = task.worker!;
    task.quiet = quiet;
    this.#settle(task, false, error);
    if (w.exited) return;
    const ctl = w.ctl;
    if (ctl) {
      // Shared memory first: the worker sees it before its next task, and a CPU-bound task sees it at once.
      const n = Atomics.load(ctl, CTL_CANCELS);
      const at = CTL_RING + 2 * (n % CANCEL_RING);
      Atomics.store(ctl, at, task.id);
      Atomics.store(ctl, at + 1, reason === 'timeout' ? 2 : 1);
      Atomics.store(ctl, CTL_CANCELS, n + 1);
    }
    try {
      w.handle.post(envelope({ t: 'cancel', id: task.id, reason, message: error.message }));
    } catch {
      // A worker on its way out: it will not run the task either way.
    }
    this.#checkHead(w);
  }

  /** A worker whose first task was aborted takes nothing more, and has `abortGrace` ms to finish it. */
  #checkHead(w: Slot): void {
    const head = w.first();
    if (head && head.state === DONE && !head.quiet) {
      w.stuck = true;
      // The grace period counts from when the worker can run the task: a starting worker is not late.
      if (w.ready && w.graceTask !== head) {
        _clearTimeout(w.grace);
        w.graceTask = head;
        w.grace = _setWeakTimeout(() => {
          if (w.first() !== head || w.exited) return;
          w.killedFor = head;
          w.handle.kill();
        }, this.#abortGrace);
      }
    } else if (w.stuck || w.grace !== undefined) {
      w.stuck = false;
      _clearTimeout(w.grace);
      w.grace = undefined;
      w.graceTask = undefined;
    }
  }

  // ------------------------------------------------------------------------------ internals: workers

  #spawn(): Slot {
    const runtime = this.#runtime;
    const kind = this.kind;
    const w = new Slot(`${this.#name}-${++workerCounter}`);
    const handle = runtime.spawn(
      { kind, name: w.name, daemon: true, resourceLimits: this.#resourceLimits, progress: kind === 'process' },
      {
        message: (data) => this.#onMessage(w, data),
        error: (error) => this.#onRuntimeError(w, error),
        exit: (code) => this.#onExit(w, code),
      },
    );
    w.handle = handle;
    const shared = kind === 'thread' && runtime.capabilities.sharedMemory;
    const { tag, counter, dead } = _allocateTag(shared);
    w.tag = tag;
    w.endpoint = new Endpoint((message) => handle.post(envelope(message)));
    w.ctx = { shared, endpoint: w.endpoint, sent: w.sent };
    w.ctl = shared ? new Int32Array(allocate(CTL_WORDS * 4, true)) : undefined;
    handle.post(envelope({ t: 'init', name: w.name, kind, ident: handle.ident, tag, tagCounter: counter, deadTags: dead, cpus: runtime.cpuCount() }));
    handle.post(envelope({ t: 'pool', control: w.ctl }));
    this.#workers.push(w);
    return w;
  }

  /** Starts a worker; a runtime that refuses breaks the pool. */
  #trySpawn(): Slot | undefined {
    try {
      return this.#spawn();
    } catch (error) {
      this.#break(new WorkerStartError(`Cannot start a worker for the pool: ${error instanceof Error ? error.message : String(error)}`, { cause: error }));
      return undefined;
    }
  }

  #onMessage(w: Slot, data: unknown): void {
    const message = unwrap<FromWorker>(data);
    if (!message) return;
    switch (message.t) {
      case 'done':
        if (message.taken !== undefined && message.taken > w.taken) w.taken = message.taken;
        if (message.bytes) this.#onDone(w, decoder.decode(message.bytes) as unknown[]);
        else if (message.r) this.#onDone(w, message.r);
        return;
      case 'rpc-call':
      case 'rpc-reply':
      case 'rpc-cancel':
      case 'rpc-ack':
        w.endpoint.receive(message);
        return;
      case 'ready':
        w.ready = true;
        this.#startFailures = 0;
        this.#checkHead(w);
        return;
      case 'uncaught':
        w.uncaught ??= new TaskError(deserializeError(message.error), w.name);
        if (message.taken !== undefined && message.taken > w.taken) w.taken = message.taken;
        return;
      case 'exit':
        w.requestedExit = message.code;
        if (message.taken !== undefined && message.taken > w.taken) w.taken = message.taken;
        return;
    }
  }

  #onRuntimeError(w: Slot, error: unknown): void {
    const err = error instanceof Error ? error : new Error(String(error));
    if (!w.ready) w.runtimeError ??= new WorkerStartError(`Cannot start ${w.name}: the worker failed before it was ready: ${err.message}`, { cause: err });
    // Out of memory (under resourceLimits) is the worker's death, not the task's error: its task
    // ends as the worker's, with the runtime's error as the cause. Anything else the runtime
    // reports escaped the task, as a Thread reports it.
    else if ((err as { code?: unknown }).code === 'ERR_WORKER_OUT_OF_MEMORY') w.crash ??= err;
    else w.runtimeError ??= new TaskError(err, w.name);
  }

  #onDone(w: Slot, r: readonly unknown[]): void {
    for (let i = 0; i < r.length; i += 5) {
      const task = w.shift();
      if (!task) break;
      w.reported++;
      w.load -= task.est;
      const status = r[i + 1];
      if (status === DONE_SKIPPED) {
        // Skipped without being cancelled (it cannot happen, but nothing may be lost): run it elsewhere.
        if (task.state !== DONE) this.#requeue([task]);
        continue;
      }
      const started = r[i + 3] as number;
      const run = (r[i + 4] as number) - started;
      const rec = task.rec;
      const per = run / task.count;
      rec.perItem = rec.perItem < 0 ? per : rec.perItem * 0.7 + per * 0.3;
      if (task.state === DONE) continue;
      this.#runTimes.add(run);
      this.#waitTimes.add(started - task.submitted);
      if (status !== DONE_FAILED) {
        this.#completed++;
        this.#settle(task, true, r[i + 2]);
      } else {
        this.#failed++;
        this.#settle(task, false, failureError(r[i + 2] as PoolFailure, rec.name, rec.module, w.name));
      }
    }
    this.#checkHead(w);
    if (this.#maxTasksPerChild > 0 && w.assigned >= this.#maxTasksPerChild && w.pending === 0 && !w.closing) {
      // Python's maxtasksperchild: a fresh worker takes over.
      this.#retire(w);
      if (this.#state === 'running' || this.#queued > 0) this.#trySpawn();
    }
    // Once per turn, not per message: a process's results come one message per task.
    this.#schedulePump();
  }

  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    void resolved.then(() => this.#pump());
  }

  #retire(w: Slot): void {
    w.closing = true;
    this.#clearTimers(w);
    w.handle.post(envelope({ t: 'close' }));
  }

  #clearTimers(w: Slot): void {
    _clearTimeout(w.grace);
    _clearTimeout(w.idle);
    w.grace = undefined;
    w.idle = undefined;
  }

  #onExit(w: Slot, code: number | null): void {
    if (w.exited) return;
    w.exited = true;
    this.#clearTimers(w);
    const at = this.#workers.indexOf(w);
    if (at >= 0) this.#workers.splice(at, 1);
    const held = w.takeAll();
    // Which of the tasks it held had started: the ones it took and did not report. A thread counts
    // them in shared memory; a process in its progress cell, which outlives it, where the runtime
    // gives one, else by a message before each start (and as it ended); every message it sent
    // has arrived by now.
    const taken = w.ctl ? Atomics.load(w.ctl, CTL_TAKEN) : Math.max(w.taken, w.handle.progress?.() ?? 0);
    const started = Math.min(held.length, Math.max(0, taken - w.reported));
    const again: Task[] = [];
    let blamed = false;
    for (let i = 0; i < held.length; i++) {
      const task = held[i]!;
      if (task.state === DONE) continue;
      if (i < started) {
        this.#failed++;
        this.#settle(task, false, this.#exitError(w, code, task, i === started - 1));
        blamed = true;
      } else again.push(task);
    }
    if (again.length > 0) this.#requeue(again);
    // An error that escaped after the worker's tasks had ended (a stray timer) is nobody's result: it is printed, not lost.
    const escaped = w.uncaught ?? (w.runtimeError instanceof TaskError ? w.runtimeError : undefined);
    if (escaped && !blamed) this.#runtime.reportError(`Exception in ${w.name}:\n${(escaped.cause as Error | undefined)?.stack ?? escaped.message}`);
    this.#cleanUpAfter(w);
    if (!w.closing) {
      this.#crashed++;
      if (!w.ready && !w.killedFor) {
        const error = w.runtimeError ?? new WorkerStartError(`Cannot start ${w.name}: its worker ended (exit code ${code}) before it was ready`);
        if (++this.#startFailures >= START_FAILURES) this.#break(error);
      }
      // Replaced at once, as Python's pool does, while the pool runs or has tasks left.
      if (this.#state === 'running' || (this.#state === 'closing' && this.#queued > 0)) this.#trySpawn();
    }
    this.#pump();
    this.#checkEnded();
  }

  /**
   * Why a task that had started fails with its worker: `running` for the last one it started;
   * those before it had ended, and their results died with the worker before it sent them.
   */
  #exitError(w: Slot, code: number | null, task: Task, running: boolean): Error {
    const Kind = this.kind === 'process' ? 'Process' : 'Thread';
    const name = task.rec.name;
    const exitCode = w.requestedExit ?? code ?? (w.killedFor ? -15 : 1);
    const how = w.killedFor
      ? `was terminated (${w.killedFor.rec.name} did not stop within ${this.#abortGrace} ms of being aborted)`
      : w.requestedExit !== undefined
        ? `exited with code ${w.requestedExit}`
        : code === null
          ? 'ended'
          : `exited with code ${code}`;
    if (!running) return new WorkerExitError(`${Kind} ${w.name} ${how} after ${name} had run in it: its result was lost with the worker; it is not run again`, exitCode);
    if (w.uncaught) return w.uncaught;
    if (w.runtimeError) return w.runtimeError;
    if (w.crash) return new WorkerExitError(`${Kind} ${w.name} died while running ${name}: ${w.crash.message}`, exitCode, { cause: w.crash });
    // An exit the worker asked for came after it had sent every result; a kill from outside may
    // have come as the task returned, before its result went out.
    const lost = w.requestedExit === undefined && !w.killedFor ? ' (if it had just returned, its result was lost with the worker; it is not run again)' : '';
    return new WorkerExitError(`${Kind} ${w.name} ${how} while running ${name}${lost}`, exitCode);
  }

  /** The worker is gone: what it reached through its channel is cancelled, and what it held is let go. */
  #cleanUpAfter(w: Slot): void {
    const ended = _markDead(w.tag);
    const peers = w.endpoint.peerTags();
    w.endpoint.close(new EOFError(`${this.kind === 'process' ? 'Process' : 'Thread'} ${w.name} has ended`));
    for (const obj of w.sent) {
      const o = obj as { _releaseIfHeldBy?(who: number): boolean; _holderDied?(): void };
      if (o._releaseIfHeldBy) for (const who of [...ended, ...peers]) o._releaseIfHeldBy(who);
      o._holderDied?.();
    }
    w.sent.clear();
  }

  /** Workers keep failing to start: every task not yet ended, and every later one, fails with why. */
  #break(error: Error): void {
    if (this.#state === 'terminated' || this.#state === 'broken') return;
    this.#state = 'broken';
    this.#brokenBy = error;
    for (let i = this.#qhead; i < this.#queue.length; i++) {
      const task = this.#queue[i];
      if (task && task.state === QUEUED) this.#settle(task, false, new WorkerStartError(`Cannot run ${task.rec.name}: the pool's workers cannot start: ${error.message}`, { cause: error }));
    }
    this.#queue = [];
    this.#qhead = 0;
    this.#queued = 0;
    this.#wakeRoomWaiters();
    this.#checkEnded();
  }

  // ------------------------------------------------------------------------------ internals: dispatch

  /** Hands queued tasks to workers with room; starts workers where there is work and too few; retires idle ones. */
  #pump(): void {
    this.#pumpScheduled = false;
    const state = this.#state;
    if (state === 'terminated' || state === 'broken') return;
    if (this.#queued > 0) {
      let live = 0;
      for (const w of this.#workers) if (!w.closing) live++;
      // While the pool is below its size, a task does not wait behind another: it goes to a worker
      // holding nothing, or to one started for it. The workers not yet started count in the share.
      const room = Math.max(0, this.size - live);
      let eligible = 0;
      for (const w of this.#workers) if (this.#canTake(w) && (room === 0 || w.pending === 0)) eligible++;
      if (eligible > 0) {
        const share = Math.ceil(this.#queued / (eligible + room));
        for (const w of [...this.#workers]) {
          if (this.#queued === 0) break;
          if (this.#canTake(w) && (room === 0 || w.pending === 0)) this.#dispatch(w, share);
        }
      }
    }
    this.#grow();
    if (this.#queued === 0) {
      for (const w of [...this.#workers]) {
        if (w.pending > 0 || w.closing) continue;
        if (state === 'closing') this.#retire(w);
        else if (this.#idleTimeout !== undefined && w.idle === undefined) {
          w.idle = _setWeakTimeout(() => {
            w.idle = undefined;
            if (w.pending === 0 && !w.closing && this.#state === 'running' && this.#queued === 0) this.#retire(w);
          }, this.#idleTimeout);
        }
      }
    }
    this.#checkEnded();
  }

  /**
   * Starts workers, up to `size`: the first few ahead of demand, then one for each task no
   * worker has room for (it takes that task at once). A turn spends at most SPAWN_SLICE_MS on
   * it (at least one worker), so a big pool never holds up its caller; the rest start next turn.
   */
  #grow(): void {
    if (this.#growTimer !== undefined) return;
    if (this.#state !== 'running' && !(this.#state === 'closing' && this.#queued > 0)) return;
    let live = 0;
    for (const w of this.#workers) if (!w.closing) live++;
    const began = _now();
    let spawned = 0;
    while (live < this.size && (this.#queued > 0 || this.#prestart > 0)) {
      if (spawned > 0 && _now() - began >= SPAWN_SLICE_MS) {
        this.#growTimer = _setWeakTimeout(() => {
          this.#growTimer = undefined;
          this.#pump();
        }, 0);
        return;
      }
      const w = this.#trySpawn();
      if (!w) return;
      spawned++;
      if (this.#prestart > 0) this.#prestart--;
      if (this.#queued > 0) this.#dispatch(w, Math.ceil(this.#queued / (this.size - live)));
      live++;
    }
  }

  #canTake(w: Slot): boolean {
    return !w.closing && !w.stuck && !w.exited && (this.#maxTasksPerChild === 0 || w.assigned < this.#maxTasksPerChild);
  }

  /** Sends up to `share` queued tasks to `w` in one message, as many as its window has room for. */
  #dispatch(w: Slot, share: number): void {
    // A worker without shared memory reports every task as it starts: topped up each time, it
    // would get one task per message. It is topped up once half its window has run instead.
    if (!w.ctl && w.pending > 1 && w.load >= WINDOW_MS / 2) return;
    const max = this.#maxTasksPerChild;
    const taken: Task[] = [];
    const tasks: unknown[] = [];
    let defs: (number | TargetSpec)[] | undefined;
    let added = 0;
    let pending = w.pending;
    let load = w.load;
    while (
      taken.length < share &&
      this.#queued > 0 &&
      pending < MAX_WINDOW &&
      (pending === 0 || load < WINDOW_MS || (pending === 1 && load < PREFETCH_MS)) &&
      (max === 0 || w.assigned + taken.length < max)
    ) {
      const task = this.#dequeue();
      if (!task) break;
      const rec = task.rec;
      // Unknown: count it as a full window, so each worker gets one until the first comes back.
      const est = rec.perItem < 0 ? WINDOW_MS : rec.perItem * task.count;
      task.est = est;
      added += est;
      load += est;
      pending++;
      const payload = task.payload;
      // A task that may take a while: what the worker has done before it is sent first, not after it.
      const flush = rec.perItem < 0 || est >= LONG_TASK_MS ? MODE_FLUSH_FIRST : 0;
      if (task.mode === MODE_MAP && allNumbers(payload as unknown[])) tasks.push(task.id, rec.index, MODE_MAP | MODE_NUMBERS | flush, new Float64Array(payload as number[]));
      else tasks.push(task.id, rec.index, task.mode | flush, marshal(payload, w.ctx));
      if (!w.known.has(rec.index)) {
        (defs ??= []).push(rec.index, rec.spec);
        w.known.add(rec.index);
      }
      taken.push(task);
    }
    if (taken.length === 0) return;
    let bytes: Uint8Array | undefined;
    let shared: readonly SharedArrayBuffer[] = [];
    try {
      bytes = encoder.encode(tasks, 'tasks').slice();
      shared = encoder.takeShared();
    } catch {
      // Something the codec does not take: structured clone tries, and says what fails.
    }
    try {
      w.handle.post(
        envelope(bytes ? { t: 'tasks', targets: defs, bytes, ...(shared.length > 0 ? { shared } : {}) } : { t: 'tasks', targets: defs, tasks }),
        bytes ? [bytes.buffer] : undefined,
      );
    } catch (error) {
      if (defs) for (let i = 0; i < defs.length; i += 2) w.known.delete(defs[i] as number);
      this.#postFailed(taken, error);
      return;
    }
    for (const task of taken) {
      task.state = SENT;
      task.worker = w;
      w.window.push(task);
    }
    w.assigned += taken.length;
    w.load += added;
    if (w.idle !== undefined) {
      _clearTimeout(w.idle);
      w.idle = undefined;
    }
  }

  /** A batch could not be sent: the tasks whose payload cannot be cloned fail with where the culprit is; the rest go back. */
  #postFailed(taken: Task[], error: unknown): void {
    const good: Task[] = [];
    let bad = 0;
    for (const task of taken) {
      const path = task.mode === MODE_APPLY ? 'args' : 'items';
      const found = isCloneFailure(error) ? findUncloneable(task.payload, path) : undefined;
      if (found || !isCloneFailure(error)) {
        bad++;
        this.#failed++;
        const failure = isCloneFailure(error)
          ? explainCloneError(`Cannot ${task.mode === MODE_APPLY ? 'apply' : 'map'} ${task.rec.name}`, task.payload, path, error)
          : error instanceof Error
            ? error
            : new Error(String(error));
        this.#settle(task, false, failure);
      } else good.push(task);
    }
    if (bad === 0) {
      // Nothing to blame alone: fail them all, each with the host's reason.
      for (const task of good) {
        this.#failed++;
        this.#settle(task, false, explainCloneError(`Cannot run ${task.rec.name}`, task.payload, task.mode === MODE_APPLY ? 'args' : 'items', error));
      }
      return;
    }
    if (good.length > 0) {
      this.#requeue(good);
      this.#schedulePump();
    }
  }

  // ------------------------------------------------------------------------------ internals: liveness

  /** The program stays alive while tasks are pending or the pool is ending; idle workers hold nothing. */
  #updateKeepAlive(): void {
    const want = this.#unsettled > 0 || (this.#state !== 'running' && !this.#hasEnded && this.#workers.length > 0);
    if (want && this.#letGo === undefined) this.#letGo = keepAlive();
    else if (!want && this.#letGo !== undefined) {
      this.#letGo();
      this.#letGo = undefined;
    }
  }

  #checkEnded(): void {
    // Tasks queued before any worker started (close() right after submitting) still run first.
    if (this.#hasEnded || this.#state === 'running' || this.#workers.length > 0 || this.#queued > 0) return;
    this.#hasEnded = true;
    this.#updateKeepAlive();
    this.#markEnded();
  }
}
