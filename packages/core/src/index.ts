/**
 * @threadkit/core: Python's threading and multiprocessing model for every JavaScript runtime.
 * Users import an adapter (`@threadkit/node`, `@threadkit/browser`, `@threadkit/deno`), which
 * installs its runtime and re-exports all of this.
 */
export { Thread, Process, BaseThread, setExcepthook, activeChildren } from './thread.js';
export type { ThreadOptions, Invocation, ExceptHook } from './thread.js';
export { taskModule, isTaskRef } from './task.js';
export type { TaskRef, TaskModule, Target, TargetFunction, AnyFunction, ModuleSpecifier } from './task.js';
export { Pool, taskSignal } from './pool/pool.js';
export type { PoolOptions, ApplyOptions, ApplyRest, MapOptions, MapProgress, ImapOptions, PoolStats, Percentiles } from './pool/pool.js';
export { Playlist } from './playlist.js';
export type { PlaylistEntry, PlayMode, PlayOptions, PlaylistEvent, PlaylistReport, TimelineEntry } from './playlist.js';
export { renderTimeline, displayWidth } from './timeline.js';
export type { RenderOptions } from './timeline.js';
export { useRuntime, getRuntime, cpuCount } from './runtime.js';
export { exit, inWorker, currentThread } from './current-thread.js';
export { useTransport, currentTransport } from './transport.js';
export type { CurrentThread } from './current-thread.js';
export type { Transport } from './transport.js';
export { Lock, RLock, Semaphore, BoundedSemaphore, Event, Condition, Barrier, Queue, JoinableQueue, SimpleQueue, Pipe, Connection } from './primitives.js';
export type { AcquireOptions, ConditionOptions, BarrierOptions, QueueOptions, QueueWaitOptions, PipeOptions } from './primitives.js';
export type { WaitOptions } from './shared.js';
export type { AbortSignalLike } from './futex.js';
export type { Runtime, WorkerHandle, WorkerEvents, WorkerScope, SpawnOptions, WorkerKind, Capabilities, ResourceLimits } from './runtime.js';
export {
  ThreadkitError,
  TaskError,
  TaskNotFoundError,
  WorkerStartError,
  WorkerExitError,
  DataCloneError,
  TimeoutError,
  EOFError,
  QueueFullError,
  QueueEmptyError,
  QueueClosedError,
  BrokenBarrierError,
  PoolClosedError,
  AbortError,
  InvalidStateError,
  UnsupportedError,
  serializeError,
  deserializeError,
} from './errors.js';
export type { SerializedError } from './errors.js';
