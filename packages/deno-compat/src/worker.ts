/**
 * The worker entry for every kind: a Web Worker (a thread), a `node:worker_threads` Worker (a
 * daemon thread) or a Deno process started with an IPC channel (a process). It builds core's
 * `WorkerScope` for the one it finds itself in and hands control to core's worker loop.
 */
import { statSync, writeSync } from 'node:fs';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { Worker as NodeWorker, parentPort } from 'node:worker_threads';
import { EXIT_KEY, catchUncaught, ipcScope, startParentWatch, webWorkerScope, withLifeLock, type ErrorEventTarget } from '@threadkit/core/adapter';
import { InvalidStateError, runWorker, type WorkerScope } from '@threadkit/core/worker';
import { Deno, permissionDenied, webWorkerGlobal } from './host.js';

const web = parentPort ? undefined : webWorkerGlobal();
const kind = parentPort ? 'daemon thread' : web ? 'thread' : process.send ? 'process' : undefined;
if (!kind) {
  throw new InvalidStateError('@threadkit/deno/worker is started by threadkit in a worker or a Deno process; it cannot run on its own');
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

/** Whether a `file:` URL names a file (`undefined` where Deno may not look: the import then says why). */
function exists(url: string): boolean | undefined {
  if (!url.startsWith('file:')) return undefined;
  try {
    const path = fileURLToPath(url);
    // Asked first (querySync never prompts): a task module is looked for only where it may be.
    if (Deno?.permissions.querySync({ name: 'read', path }).state !== 'granted') return undefined;
    return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
  } catch {
    return undefined;
  }
}

// Uncaught errors and unhandled rejections: Deno raises both as events on the global scope in
// every kind of worker (see @threadkit/core/adapter).
const onUncaught: WorkerScope['onUncaught'] = (handler) => catchUncaught(globalThis as unknown as ErrorEventTarget, handler);

let scope: WorkerScope;
if (parentPort) {
  const port = parentPort;
  scope = {
    post: (data) => port.postMessage(data),
    // The parent's first message names this worker's life lock; nothing is handled before it is held.
    onMessage: (handler) => void port.on('message', withLifeLock(handler)),
    onUncaught,
    importModule,
    exists,
    exit: (code) => process.exit(code),
  };
} else if (web) {
  scope = { ...webWorkerScope(web, importModule), exists };
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
} else {
  // Deno's ChildProcess may never emit 'close' in the parent: the last message says the process
  // is exiting, and what it sends is cloned first (see @threadkit/core/adapter). A pool's process
  // worker counts the tasks it starts in its progress cell, if its parent gave it one.
  scope = { ...ipcScope(process, { write: writeSync, cloneFirst: true, lastWord: true }), onUncaught, importModule, exists };
}
runWorker(scope);

// With the worker loop already listening, in this same turn: a task that arrives next and never
// yields must not find the process still unwatched (see @threadkit/core/adapter). A watcher
// thread is a node:worker_threads Worker, as it can be unref'd (a Web Worker keeps Deno alive).
if (kind === 'process') {
  startParentWatch(
    process.argv.slice(2),
    process,
    (source) => new NodeWorker(source, { eval: true }),
    (text) => console.error(text),
  );
}
