/**
 * The one seam between core and a JavaScript runtime. An adapter implements
 * {@link Runtime} (the parent side) and hands a {@link WorkerScope} to core's worker
 * loop (the worker side); everything else is core's.
 */

/** What kind of worker to spawn: a thread shares the process; a process is an OS process where the runtime has them. */
export type WorkerKind = 'thread' | 'process';

/** Options for {@link Runtime.spawn}. */
export interface SpawnOptions {
  readonly kind: WorkerKind;
  readonly name: string;
  /** A daemon worker does not keep the program alive. */
  readonly daemon: boolean;
  /** Memory limits for the worker (only where `capabilities.resourceLimits`). */
  readonly resourceLimits?: ResourceLimits;
  /**
   * Give the worker a progress cell (see {@link WorkerScope.progress}), where the runtime can:
   * a pool's process worker counts there the tasks it has started.
   */
  readonly progress?: boolean;
}

/**
 * Limits on a worker's memory, as Node's `Worker` takes them (and piscina passes them on): a
 * worker that goes past them ends with an out-of-memory error instead of growing without bound.
 */
export interface ResourceLimits {
  /** The most MB of the main heap. */
  readonly maxOldGenerationSizeMb?: number;
  /** The most MB of the heap for new objects. */
  readonly maxYoungGenerationSizeMb?: number;
  /** The thread's stack, in MB. */
  readonly stackSizeMb?: number;
}

/** Events a spawned worker reports to core. */
export interface WorkerEvents {
  /** A message the worker posted. */
  message(data: unknown): void;
  /** The runtime reports an error outside core's protocol (e.g. the worker entry failed to load). */
  error(error: unknown): void;
  /**
   * The worker is gone. `exitCode` follows Python: the code it exited with, or a negative
   * signal number when a signal ended it; `null` when the runtime cannot tell.
   */
  exit(exitCode: number | null): void;
}

/** A live worker, as the adapter gives it to core. */
export interface WorkerHandle {
  /** A thread id or process id, once known. */
  readonly ident: number | undefined;
  /** The OS process id, for process workers. */
  readonly pid: number | undefined;
  /** Posts a message; throws the runtime's DataCloneError when it cannot be cloned. */
  post(data: unknown, transfer?: readonly unknown[]): void;
  /** Asks the worker to stop now (SIGTERM for a process). Must lead to an `exit` event. */
  terminate(): void;
  /** Stops the worker at once (SIGKILL for a process); where there is no difference, the same as terminate. Must lead to an `exit` event. */
  kill(): void;
  /**
   * The last number the worker wrote to its progress cell (0 before it wrote any), readable
   * during the `exit` event even when the worker was killed; absent where it has no cell.
   */
  progress?(): number;
}

/** What a runtime can do. */
export interface Capabilities {
  /** `Process` is a real OS process. Where false, `Process` is an isolated worker. */
  readonly processes: boolean;
  /** SharedArrayBuffer and Atomics are available between workers. */
  readonly sharedMemory: boolean;
  /** `spawn` honours `resourceLimits`. */
  readonly resourceLimits?: boolean;
}

/** The parent side of an adapter. */
export interface Runtime {
  /** e.g. `node`, `browser`, `deno`. */
  readonly name: string;
  readonly capabilities: Capabilities;
  /** Spawns a worker that runs the adapter's worker entry, which hands control to core's worker loop. */
  spawn(options: SpawnOptions, events: WorkerEvents): WorkerHandle;
  /** The number of logical CPUs. */
  cpuCount(): number;
  /** Writes a report of an unobserved failure where the user will see it (stderr). */
  reportError(text: string): void;
}

/** The worker side of an adapter: what core's worker loop needs from the host. */
export interface WorkerScope {
  /** Posts a message to the parent. */
  post(data: unknown): void;
  /** Calls `handler` for every message from the parent. */
  onMessage(handler: (data: unknown) => void): void;
  /** Calls `handler` for every error that escapes all code (uncaught exceptions and unhandled rejections). */
  onUncaught(handler: (error: unknown) => void): void;
  /** Imports a task module by URL (adapters add TypeScript support here where the host lacks it). */
  importModule(url: string): Promise<Record<string, unknown>>;
  /**
   * Whether a `file:` URL names a file here: `undefined` when it cannot tell (no permission to
   * look). Where present, a task module named by its source that is not there (`tasks.ts`) is
   * loaded from its compiled form next to it (`tasks.js`), and the other way round, and a module
   * not found at all is reported with every file looked for (see `module-url.ts`).
   */
  exists?(url: string): boolean | undefined;
  /** Ends the worker with an exit code once what was posted has been delivered. */
  exit(code: number): void;
  /**
   * Writes a number the parent can read however this worker ends, killed included (a message
   * may die in the worker's own buffers): present only where the parent asked for a progress
   * cell and the runtime made one. Cheap enough to call for every task. Returns false when the
   * write failed (the worker then tells its parent by message instead).
   */
  progress?(count: number): boolean;
}

import { InvalidStateError } from './errors.js';
import { _setCpus } from './futex.js';

let current: Runtime | undefined;

/** Installs the runtime that `Thread`, `Process` and the rest use. Adapters call this on import. */
export function useRuntime(runtime: Runtime): void {
  current = runtime;
  _setCpus(runtime.cpuCount());
}

/** The installed runtime, or a clear error when core was imported without an adapter. */
export function getRuntime(): Runtime {
  if (!current) {
    throw new InvalidStateError(
      "No threadkit runtime is installed: import from '@threadkit/node', '@threadkit/browser' or '@threadkit/deno' rather than '@threadkit/core'",
    );
  }
  return current;
}

/** The number of logical CPUs of the installed runtime. */
export function cpuCount(): number {
  return getRuntime().cpuCount();
}
