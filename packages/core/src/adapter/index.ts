/**
 * Helpers for runtime adapters (`@threadkit/core/adapter`): behaviour that several adapters share,
 * written once here against structural types, since core imports no runtime. An adapter is its
 * `Runtime` and its worker entry; what those have in common with another adapter's is here:
 * - `child.ts`: a child process as a `WorkerHandle` (Node, Bun, Deno) and the child's IPC scope;
 * - `web-worker.ts`: a Web Worker's end, known by its life lock and its goodbye (browser, Deno),
 *   its worker scope, and the hook for uncaught errors of a realm that raises them as events;
 * - `parent-watch.ts`: how a child process ends with its parent, whatever it is doing;
 * - `progress.ts`: progress cells, where a process counts the tasks it starts.
 */
export { childProcesses, endAtExit, ipcScope } from './child.js';
export type { ChildHost, EndableChild, IpcChild, IpcProcess } from './child.js';
export { EXIT_KEY, LIFE_KEY, afterLife, catchUncaught, isGoodbye, lifeName, webWorkerEnd, webWorkerScope, withLifeLock } from './web-worker.js';
export type { ErrorEventTarget, GlobalErrorEvent, WebWorkerEnd, WebWorkerGlobal, WebWorkerLike } from './web-worker.js';
export {
  PARENT_POLL_MS,
  PARENT_WATCH_ENV,
  SETPRIV_PATHS,
  childCommand,
  findSetpriv,
  parentArg,
  parentFrom,
  startParentWatch,
  watchParent,
} from './parent-watch.js';
export type { ParentWatch, WatchedProcess, WatcherThread } from './parent-watch.js';
export { CELL_FD, cellWriter, openCell, progressArg, progressFrom } from './progress.js';
export type { CellFiles, CellWrite, ProgressCell } from './progress.js';
