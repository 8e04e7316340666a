/**
 * core's `Runtime` over module Web Workers. `Thread` and `Process` are both a module worker;
 * a `Process` is an isolated one: it shares no memory with its parent, so the objects passed to
 * it are reached by messages, as with an OS process on Node. Where the page is cross-origin
 * isolated, threads share memory (SharedArrayBuffer); where it is not, every object is reached
 * by messages. Exit codes, uncaught errors and unhandled rejections travel in core's protocol
 * (a browser reports none of them); a worker's end is known by its life lock and its goodbye
 * (see `webWorkerEnd` in @threadkit/core/adapter).
 */
import type { Runtime, SpawnOptions, WorkerEvents, WorkerHandle } from '@threadkit/core';
import { webWorkerEnd } from '@threadkit/core/adapter';
import { firstTarget, unwrap, type ToWorker } from '@threadkit/core/worker';

/** The scheme of the module names {@link bundledTaskModule} gives out. */
export const BUNDLED_SCHEME = 'threadkit-task:';

/** Starts the worker entry of a task module that a bundler built (see `@threadkit/browser/vite`). */
export type WorkerFactory = () => Worker;

const bundled = new Map<string, WorkerFactory>();

/**
 * Registers a task module that a bundler built as its own worker entry, and returns the name
 * `taskModule()` takes for it. `@threadkit/browser/vite` writes the call: user code keeps
 * `taskModule(new URL('./tasks.ts', import.meta.url))`.
 */
export function bundledTaskModule(path: string, factory: WorkerFactory): string {
  if (typeof path !== 'string' || typeof factory !== 'function') {
    throw new TypeError('Cannot register a bundled task module: expected a path and a function that starts its worker');
  }
  const name = `${BUNDLED_SCHEME}${path}`;
  bundled.set(name, factory);
  return name;
}

/**
 * The module of the first task a message asks for: it decides which worker entry to start.
 * `undefined` for an inline function; `null` while the message runs no task.
 */
function firstModule(data: unknown): string | undefined | null {
  const target = firstTarget(data);
  return target && (target.kind === 'module' ? target.url : undefined);
}

function describeEvent(event: { readonly error?: unknown; readonly message?: string }): string {
  if (event.error instanceof Error) return `${event.error.name}: ${event.error.message}`;
  return event.message || 'its script could not be loaded or did not run (the browser gives no detail: check that the URL serves JavaScript)';
}

let idents = 0;

function spawn(options: SpawnOptions, events: WorkerEvents): WorkerHandle {
  // The generic entry imports task modules by URL. Once bundled task modules are registered, a
  // worker starts with its first task instead: from that module's own entry if it is one of them.
  const ident = ++idents;
  // A browser's terminate() only asks a worker to stop, and says nothing when it has: its end is
  // reported once it has let go of its life lock (see @threadkit/core/adapter). Uncaught errors
  // inside travel in core's protocol; an error event means its script failed to load.
  const life = webWorkerEnd(options.name, events, (event) => new Error(`the worker of ${options.name} failed: ${describeEvent(event)}`));
  let worker: Worker | undefined;
  let queued: unknown[] = [];

  const start = (module: string | undefined): Worker => {
    const factory = module === undefined ? undefined : bundled.get(module);
    const w = factory ? factory() : new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: options.name });
    life.attach(w);
    return w;
  };

  // Without bundled task modules every worker is the generic one: start it now, as other runtimes do.
  if (bundled.size === 0) worker = start(undefined);

  return {
    ident,
    pid: undefined,
    post(data, transfer) {
      if (life.ended) return;
      if (!worker) {
        const module = firstModule(data);
        if (module === null) {
          // A thread whose body ended without running a task needs no worker at all.
          if (unwrap<ToWorker>(data)?.t === 'close') return life.end(0);
          queued.push(data);
          return;
        }
        worker = start(module);
        for (const early of queued) worker.postMessage(early);
        queued = [];
      }
      worker.postMessage(data, (transfer ?? []) as Transferable[]);
    },
    terminate: () => life.end(null),
    kill: () => life.end(null),
  };
}

/** Whether this realm has memory it can share with its workers (a cross-origin isolated page and its workers). */
function sharesMemory(): boolean {
  const g = globalThis as { SharedArrayBuffer?: unknown; crossOriginIsolated?: boolean };
  return typeof g.SharedArrayBuffer === 'function' && g.crossOriginIsolated !== false;
}

/** The browser runtime. */
export const browserRuntime: Runtime = {
  name: 'browser',
  capabilities: { processes: false, sharedMemory: sharesMemory() },
  spawn,
  cpuCount: () => (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency || 1,
  reportError: (text) => console.error(text),
};
