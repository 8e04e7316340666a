/**
 * The wire protocol between a parent and a worker: message shapes only, no logic.
 * Every end of life travels through here, because browsers give no exit codes and
 * drop unhandled rejections, and Deno drops uncaught errors' stacks.
 */
import type { SerializedError } from './errors.js';
import type { RpcMessage } from './rpc.js';

/** Where a task's code comes from: an export of a module, or an inline function's source text. */
export type TargetSpec =
  | { readonly kind: 'module'; readonly url: string; readonly name: string }
  | { readonly kind: 'source'; readonly source: string; readonly name: string };

/** Parent → worker: run a task. */
export interface RunMessage {
  readonly t: 'run';
  readonly id: number;
  readonly target: TargetSpec;
  readonly args: readonly unknown[];
}

/** Parent → worker: no more tasks; exit with code 0 once idle. */
export interface CloseMessage {
  readonly t: 'close';
}

/** Parent → worker, first: who this worker is, for `currentThread()` inside tasks. */
export interface InitMessage {
  readonly t: 'init';
  readonly name: string;
  readonly kind: 'thread' | 'process';
  readonly ident: number | undefined;
  /** The worker's realm tag, and the counter its OS process allocates tags from (shared memory only). */
  readonly tag: number;
  readonly tagCounter: Int32Array | undefined;
  /** The bitmap of ended threads' tags, shared by the OS process (shared memory only). */
  readonly deadTags: Int32Array | undefined;
  /** The number of CPUs, as the parent's runtime reports it. */
  readonly cpus: number;
}

/**
 * Parent → worker, once, to a `Pool`'s worker: it runs pool tasks one at a time, in order. `control`
 * (shared memory only) is the worker's control block, see pool/worker.ts.
 */
export interface PoolMessage {
  readonly t: 'pool';
  readonly control: Int32Array | undefined;
}

/** How a pool task calls its function: `apply` once with `args`; `map` once per item; `starmap` once per item, spread. */
export type TaskMode = typeof MODE_APPLY | typeof MODE_MAP | typeof MODE_STARMAP;
export const MODE_APPLY = 0;
export const MODE_MAP = 1;
export const MODE_STARMAP = 2;
/** Added to `MODE_MAP` on the wire: the chunk's items are all numbers and travel as one `Float64Array`. */
export const MODE_NUMBERS = 4;
/** Added on the wire to a task expected to take a while: the worker first sends the results it holds. */
export const MODE_FLUSH_FIRST = 8;

/**
 * A batch of pool tasks on the wire ({@link TasksMessage}) is flat, {@link TASK_STRIDE} values
 * per task: its id, its target's index, its mode (with flags), its payload.
 */
export const TASK_STRIDE = 4;
export const TASK_ID = 0;
export const TASK_TARGET = 1;
export const TASK_MODE = 2;
export const TASK_PAYLOAD = 3;

/**
 * Ended pool tasks on the wire ({@link DoneMessage}) are flat, {@link DONE_STRIDE} values per
 * task: its id, its {@link DoneStatus}, its value (or failure), and when it started and ended.
 */
export const DONE_STRIDE = 5;
export const DONE_ID = 0;
export const DONE_STATUS = 1;
export const DONE_VALUE = 2;
export const DONE_STARTED = 3;
export const DONE_ENDED = 4;

/**
 * A thread worker's control block: Int32 words of shared memory its parent and it both see
 * ({@link PoolMessage}). {@link CTL_TAKEN}: the tasks the worker has taken, run or skipped (it
 * adds 1 before each). {@link CTL_CANCELS}: the cancellations the parent has written (it adds 1
 * after writing each). From {@link CTL_RING}: the last {@link CANCEL_RING} cancellations, as
 * `[task id, 1 = abort | 2 = timeout]` pairs.
 */
export const CTL_TAKEN = 0;
export const CTL_CANCELS = 1;
export const CTL_RING = 2;
export const CANCEL_RING = 32;
export const CTL_WORDS = CTL_RING + 2 * CANCEL_RING;

/**
 * Parent → pool worker: tasks to run, in order, in one message. `targets` defines the targets
 * first used here (`[index, spec, index, spec, ...]`). The tasks are flat: `[id, target index,
 * mode, payload, ...]`, the payload being the args (`apply`) or the chunk of items (`map`,
 * `starmap`); they come encoded by core's codec in `bytes` (with the SharedArrayBuffers they
 * refer to in `shared`), or, when the codec cannot take them, as `tasks` for structured clone.
 */
export interface TasksMessage {
  readonly t: 'tasks';
  readonly targets: readonly (number | TargetSpec)[] | undefined;
  readonly tasks?: readonly unknown[];
  readonly bytes?: Uint8Array;
  readonly shared?: readonly SharedArrayBuffer[];
}

/** Why a pool task was cancelled. */
export type CancelReason = 'abort' | 'timeout';

/** Parent → pool worker: stop these tasks: skip them if not started, abort the running one's `taskSignal()`. */
export interface CancelMessage {
  readonly t: 'cancel';
  readonly id: number;
  readonly reason: CancelReason;
  readonly message: string;
}

export type ToWorker = InitMessage | RunMessage | CloseMessage | PoolMessage | TasksMessage | CancelMessage | RpcMessage;

/** Worker → parent: the worker loop is running. */
export interface ReadyMessage {
  readonly t: 'ready';
}

/** Worker → parent: a task returned. `started`/`ended` are wall-clock ms inside the worker. */
export interface ResultMessage {
  readonly t: 'result';
  readonly id: number;
  readonly value: unknown;
  readonly started: number;
  readonly ended: number;
}

/** Why a task failed: it threw, its module failed to load, its export is missing, or its result could not be sent back. */
export type FailureKind = 'threw' | 'load' | 'not-found' | 'clone' | 'source';

/** Worker → parent: a task failed. */
export interface FailureMessage {
  readonly t: 'failure';
  readonly id: number;
  readonly kind: FailureKind;
  readonly error: SerializedError;
  /** With `not-found`: the module's exported functions. */
  readonly exports?: readonly string[];
  readonly started: number;
  readonly ended: number;
}

/** Worker → parent: an error escaped every task (an uncaught exception or unhandled rejection); the worker exits with code 1 after it. */
export interface UncaughtMessage {
  readonly t: 'uncaught';
  readonly error: SerializedError;
  /** In a pool worker: how many of the tasks it was sent it had taken (see {@link DoneMessage}). */
  readonly taken?: number;
}

/** Worker → parent: a task called `exit(code)`; the worker ends with that code. */
export interface ExitMessage {
  readonly t: 'exit';
  readonly code: number;
  /** In a pool worker: how many of the tasks it was sent it had taken (see {@link DoneMessage}). */
  readonly taken?: number;
}

/**
 * How a pool task ended: returned, failed (the value is a {@link PoolFailure}), skipped because
 * it was cancelled before it started, or returned a chunk's results that are all numbers, as one `Float64Array`.
 */
export type DoneStatus = typeof DONE_OK | typeof DONE_FAILED | typeof DONE_SKIPPED | typeof DONE_NUMBERS;
export const DONE_OK = 0;
export const DONE_FAILED = 1;
export const DONE_SKIPPED = 2;
export const DONE_NUMBERS = 3;

/** A pool task's failure, as {@link FailureMessage} carries it. */
export interface PoolFailure {
  readonly kind: FailureKind;
  readonly error: SerializedError;
  readonly exports?: readonly string[];
}

/**
 * Worker → parent: pool tasks ended, in the order they were sent. Flat: `[id, status, value,
 * started, ended, ...]` (see {@link DoneStatus}); `started`/`ended` are wall-clock ms inside the
 * worker. Encoded by core's codec in `bytes`, or, when the codec cannot take a value, as `r`;
 * neither when the message only says `taken`.
 */
export interface DoneMessage {
  readonly t: 'done';
  readonly r?: readonly unknown[];
  readonly bytes?: Uint8Array;
  /**
   * A worker without shared memory (a process): how many tasks it has taken so far, run or
   * skipped. Sent before each task starts, so if the worker dies the parent knows which of the
   * tasks it held had started. (A thread counts them in its control block instead.)
   */
  readonly taken?: number;
  /**
   * The worker has loaded this target (its index), after the results before it: the parent's
   * clock for a task's `timeout` starts once the task is the next to run on a worker that has.
   */
  readonly loaded?: number;
}

export type FromWorker = ReadyMessage | ResultMessage | FailureMessage | UncaughtMessage | ExitMessage | DoneMessage | RpcMessage;

/** Marks threadkit's messages so a worker can share its port with user messages. */
export const PROTOCOL_KEY = '__threadkit__' as const;

/** An envelope: `{ __threadkit__: message }`. */
export type Envelope<M> = { readonly [PROTOCOL_KEY]: M };

export function envelope<M>(message: M): Envelope<M> {
  return { [PROTOCOL_KEY]: message };
}

export function unwrap<M>(data: unknown): M | undefined {
  if (typeof data === 'object' && data !== null && PROTOCOL_KEY in data) return (data as Envelope<M>)[PROTOCOL_KEY];
  return undefined;
}

/**
 * The first task a message asks a worker to run, for an adapter that picks a worker entry by
 * it: the target of a `run` message, or the first target a pool's `tasks` message defines;
 * `null` when the message names no task (`init`, `close`, ...).
 */
export function firstTarget(data: unknown): TargetSpec | null {
  const message = unwrap<ToWorker>(data);
  if (message?.t === 'run') return message.target;
  if (message?.t === 'tasks' && message.targets && message.targets.length > 1) return message.targets[1] as TargetSpec;
  return null;
}
