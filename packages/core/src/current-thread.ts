/**
 * Who is running: the current thread as Python's `threading.current_thread()` tells it, whether
 * this realm is a threadkit worker, and `exit(n)` to end it.
 */
import { InvalidStateError } from './errors.js';
import type { WorkerScope } from './runtime.js';

let self: CurrentThread = { name: 'MainThread', kind: 'main', ident: undefined };

/** Who is running: inside a task, the thread or process that runs it; elsewhere the main thread. */
export interface CurrentThread {
  readonly name: string;
  readonly kind: 'main' | 'thread' | 'process';
  /** The thread id (the process id for a process); `undefined` on the main thread. */
  readonly ident: number | undefined;
}

/** Python's `threading.current_thread()`: inside a task, the name, kind and ident of the worker running it. */
export function currentThread(): CurrentThread {
  return self;
}

/** Called by core's worker loop when the parent says who this worker is. */
export function _setCurrentThread(info: CurrentThread): void {
  self = Object.freeze({ ...info });
}
let scope: WorkerScope | undefined;
let requestExit: ((code: number) => void) | undefined;

/** Called by core's worker loop: marks this realm as a threadkit worker. */
export function _enterWorker(workerScope: WorkerScope, onExit: (code: number) => void): void {
  scope = workerScope;
  requestExit = onExit;
}

/** Whether this code runs inside a threadkit worker. */
export function inWorker(): boolean {
  return scope !== undefined;
}

/** Thrown by {@link exit} to stop the calling task; the worker loop recognises it. */
export class _ExitSignal {
  constructor(readonly code: number) {}
}

/**
 * Ends the current threadkit worker with an exit code, like Python's `sys.exit(n)` in a process:
 * the parent sees `exitCode === n` on every runtime (browsers give no exit codes of their own).
 * @throws when called outside a worker.
 */
export function exit(code = 0): never {
  if (!Number.isInteger(code) || code < 0 || code > 255) {
    throw new RangeError(`Cannot exit: code must be an integer from 0 to 255, got ${String(code)}`);
  }
  if (!requestExit) throw new InvalidStateError('Cannot exit: exit() ends a threadkit worker, so call it inside a task; the main program ends the usual way');
  requestExit(code);
  throw new _ExitSignal(code);
}
