/**
 * The worker entry for every kind: a Web Worker (a thread), a `node:worker_threads` Worker (a
 * daemon thread) or a Deno process started with an IPC channel (a process). It builds core's
 * `WorkerScope` for the one it finds itself in and hands control to core's worker loop.
 */
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { Worker as NodeWorker, parentPort } from 'node:worker_threads';
import { startParentWatch, withLifeLock } from '@threadkit/core/adapter';
import { runWorker, type WorkerScope } from '@threadkit/core/worker';
import { EXIT_KEY, permissionDenied, webWorkerScope } from './host.js';

const web = parentPort ? undefined : webWorkerScope();
const kind = parentPort ? 'daemon thread' : web ? 'thread' : process.send ? 'process' : undefined;
if (!kind) {
  throw new Error('@threadkit/deno/worker is started by threadkit in a worker or a Deno process; it cannot run on its own');
}

/** Imports a task module; a permission Deno refused is named, with the flag that grants it. */
async function importModule(url: string): Promise<Record<string, unknown>> {
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (error) {
    const denied = permissionDenied(error);
    if (!denied) throw error;
    const path = url.startsWith('file:') ? fileURLToPath(url) : url;
    const scope = url.startsWith('file:') ? ` (or ${denied.flag}=${fileURLToPath(new URL('.', url))})` : '';
    const why =
      kind === 'process'
        ? '; a Process is a new Deno process, which receives the permissions its program holds in full (and read access to the working directory, where that much is granted)'
        : '';
    const denial = new Error(`Deno denied ${denied.name} access to the task module ${path}: run with ${denied.flag}${scope}${why}`, { cause: error });
    denial.name = 'NotCapable';
    throw denial;
  }
}

// Uncaught errors and unhandled rejections: Deno raises both as events on the global scope in
// every kind of worker; preventing the default keeps Deno from printing and exiting on its own.
type ErrorEventLike = { error?: unknown; message?: string; reason?: unknown; preventDefault(): void };
const global = globalThis as unknown as { addEventListener(type: string, listener: (event: ErrorEventLike) => void): void };
const onGlobal = (type: string, listener: (event: ErrorEventLike) => void): void => global.addEventListener(type, listener);
function onUncaught(handler: (error: unknown) => void): void {
  onGlobal('error', (event) => {
    event.preventDefault();
    handler(event.error ?? new Error(event.message));
  });
  onGlobal('unhandledrejection', (event) => {
    event.preventDefault();
    handler(event.reason);
  });
}

// A process exits only after the IPC channel has taken every message it was given.
let unsent = 0;
let exitWhenSent: (() => void) | undefined;
function send(data: unknown): void {
  // Deno's IPC throws a bare "Failed to read value" (or fails later) on what it cannot clone:
  // clone first, so core sees a DataCloneError and names the culprit.
  structuredClone(data);
  process.send!(data, undefined, undefined, () => {
    if (--unsent === 0) exitWhenSent?.();
  });
  unsent++;
}

let scope: WorkerScope;
if (parentPort) {
  const port = parentPort;
  scope = {
    post: (data) => port.postMessage(data),
    // The parent's first message names this worker's life lock; nothing is handled before it is held.
    onMessage: (handler) => void port.on('message', withLifeLock(handler)),
    onUncaught,
    importModule,
    exit: (code) => process.exit(code),
  };
} else if (web) {
  // A Web Worker that ends itself (`Deno.exit(n)`, `process.exit(n)`, `close()`) gives its parent
  // no event at all: it says goodbye first, with its exit code, as `scope.exit` does.
  const bye = (code: number): void => web.postMessage({ [EXIT_KEY]: code });
  const deno = (globalThis as unknown as { Deno: { exit(code?: number): never } }).Deno;
  const denoExit = deno.exit.bind(deno);
  deno.exit = (code = 0) => {
    bye(code);
    return denoExit(code);
  };
  const processExit = process.exit.bind(process);
  process.exit = (code?: number | string | null) => {
    bye(Number(code ?? process.exitCode ?? 0));
    return processExit(code);
  };
  const close = web.close.bind(web);
  web.close = () => {
    bye(0);
    close();
  };
  scope = {
    post: (data) => web.postMessage(data),
    // The parent's first message names this worker's life lock; nothing is handled before it is held.
    onMessage: (handler) => {
      const receive = withLifeLock(handler);
      web.addEventListener('message', (event) => receive(event.data));
    },
    onUncaught,
    importModule,
    // Web Workers have no exit code: the last message carries it (postMessage keeps order).
    exit: (code) => {
      bye(code);
      close();
    },
  };
} else {
  // The parent is gone: nobody can join this process any more. Heard only while the event loop
  // turns; startParentWatch, below, sees to a process whose main thread never yields.
  process.on('disconnect', () => process.exit(1));
  scope = {
    post: send,
    onMessage: (handler) => void process.on('message', handler),
    onUncaught,
    importModule,
    // The last message says it is exiting: the parent then knows every message before it has arrived.
    exit: (code) => {
      send({ [EXIT_KEY]: code });
      exitWhenSent = () => process.exit(code);
    },
  };
}
runWorker(scope);

// With the worker loop already listening, in this same turn: a task that arrives next and never
// yields must not find the process still unwatched (see @threadkit/core/adapter). A watcher
// thread is a node:worker_threads Worker, as it can be unref'd (a Web Worker keeps Deno alive).
if (kind === 'process') {
  startParentWatch(process.argv.slice(2), process, (source) => new NodeWorker(source, { eval: true }), (text) => console.error(text));
}
