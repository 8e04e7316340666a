/**
 * core's `Runtime` over module Web Workers. `Thread` and `Process` are both a module worker;
 * a `Process` is an isolated one: it shares no memory with its parent, so the objects passed to
 * it are reached by messages, as with an OS process on Node. Where the page is cross-origin
 * isolated, threads share memory (SharedArrayBuffer); where it is not, every object is reached
 * by messages. Exit codes, uncaught errors and unhandled rejections travel in core's protocol
 * (a browser reports none of them); the worker's last word is {@link EXIT_KEY}.
 */
import type { Runtime, SpawnOptions, WorkerEvents, WorkerHandle } from '@threadkit/core';
import { LIFE_KEY, afterLife, lifeName } from '@threadkit/core/adapter';
import { unwrap, type ToWorker } from '@threadkit/core/worker';

/** A worker's last message: `{ [EXIT_KEY]: code }`, posted just before it closes itself. */
export const EXIT_KEY = '__threadkit_exit__';


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
 * The module of the first task a worker is asked to run (a thread's `run`, a pool's first `tasks`):
 * it decides which worker entry to start. `undefined` for an inline function; `null` while the
 * message runs no task.
 */
function firstModule(data: unknown): string | undefined | null {
  const message = unwrap<ToWorker>(data);
  let target: { kind: string; url?: string } | undefined;
  if (message?.t === 'run') target = message.target;
  else if (message?.t === 'tasks') target = message.targets?.find((x): x is Exclude<typeof x, number> => typeof x === 'object');
  else return null;
  return target?.kind === 'module' ? target.url : undefined;
}

function describeEvent(event: ErrorEvent | Event): string {
  const e = event as ErrorEvent;
  if (e.error instanceof Error) return `${e.error.name}: ${e.error.message}`;
  return e.message || 'its script could not be loaded or did not run (the browser gives no detail: check that the URL serves JavaScript)';
}

let idents = 0;

function spawn(options: SpawnOptions, events: WorkerEvents): WorkerHandle {
  // The generic entry imports task modules by URL. Once bundled task modules are registered, a
  // worker starts with its first task instead: from that module's own entry if it is one of them.
  const ident = ++idents;
  // The worker holds this Web Lock for as long as it lives: a browser's terminate() only asks a
  // worker to stop, and says nothing when it has (see @threadkit/core/adapter).
  const life = lifeName();
  let worker: Worker | undefined;
  let queued: unknown[] | undefined = [];
  let ended = false;

  const end = (code: number | null): void => {
    if (ended) return;
    ended = true;
    const started = worker !== undefined;
    worker?.terminate();
    queued = undefined;
    // A browser says nothing when a worker ends: the exit event comes from here, once the worker
    // has let go of its life lock (where Web Locks are missing, a page that is not a secure
    // context, on a later turn).
    if (started) afterLife(life, () => events.exit(code));
    else setTimeout(() => events.exit(code), 0);
  };

  const start = (module: string | undefined): Worker => {
    const factory = module === undefined ? undefined : bundled.get(module);
    const w = factory ? factory() : new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: options.name });
    w.addEventListener('message', (event) => {
      const data = (event as MessageEvent).data;
      if (typeof data === 'object' && data !== null && EXIT_KEY in data) return end((data as Record<string, number>)[EXIT_KEY]!);
      // Until the worker is gone, core hears everything it says, as from a worker on Node.
      events.message(data);
    });
    w.addEventListener('error', (event) => {
      // Uncaught errors inside the worker are caught there and travel in core's protocol; an
      // error that reaches this side means the worker could not start (its script failed to load).
      event.preventDefault();
      if (ended) return;
      events.error(new Error(`the worker of ${options.name} failed: ${describeEvent(event)}`));
      end(1);
    });
    w.addEventListener('messageerror', () => {
      events.error(new Error(`a message from ${options.name} could not be deserialized here`));
    });
    w.postMessage({ [LIFE_KEY]: life });
    return w;
  };

  // Without bundled task modules every worker is the generic one: start it now, as other runtimes do.
  if (bundled.size === 0) worker = start(undefined);

  return {
    ident,
    pid: undefined,
    post(data, transfer) {
      if (ended) return;
      if (!worker) {
        const module = firstModule(data);
        if (module === null) {
          // A thread whose body ended without running a task needs no worker at all.
          if (unwrap<ToWorker>(data)?.t === 'close') return end(0);
          queued!.push(data);
          return;
        }
        worker = start(module);
        for (const early of queued!) worker.postMessage(early);
        queued = undefined;
      }
      worker.postMessage(data, (transfer ?? []) as Transferable[]);
    },
    terminate: () => end(null),
    kill: () => end(null),
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
