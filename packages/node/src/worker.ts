/**
 * The worker entry for both kinds: in a worker thread it talks over `parentPort`, in a
 * forked process over the IPC channel; either way it hands control to core's worker loop.
 */
import { writeSync } from 'node:fs';
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import { ipcScope, startParentWatch } from '@threadkit/core/adapter';
import { InvalidStateError, runWorker, type WorkerScope } from '@threadkit/core/worker';
import { fileExists, isTypeScript, nativeTypeScript, parentTsx, registerTsx } from './typescript.js';

const port = isMainThread ? null : parentPort;

// TypeScript task modules load as in the parent: under its tsx when it runs under tsx; else on
// Node's type stripping, or on tsx where this Node has none (see typescript.ts). Registered once.
const tsxFolder = parentTsx();
let tsx: Promise<void> | undefined;
async function importModule(url: string): Promise<Record<string, unknown>> {
  if (tsxFolder !== undefined || (isTypeScript(url) && !nativeTypeScript())) {
    tsx ??= registerTsx(tsxFolder, url);
    await tsx;
  }
  return (await import(url)) as Record<string, unknown>;
}

if (!port && !process.send) {
  throw new InvalidStateError('@threadkit/node/worker is started by threadkit in a worker thread or a forked process; it cannot run on its own');
}

// A thread talks over its port; a process over its IPC channel, exiting once that has taken every
// message, and, as a pool's worker, counts the tasks it starts in its progress cell, if it has one.
const channel: Pick<WorkerScope, 'post' | 'onMessage' | 'exit' | 'progress'> = port
  ? { post: (data) => port.postMessage(data), onMessage: (handler) => void port.on('message', handler), exit: (code) => process.exit(code) }
  : ipcScope(process, { write: writeSync });

runWorker({
  ...channel,
  onUncaught: (handler) => {
    process.on('uncaughtException', handler);
    process.on('unhandledRejection', handler);
  },
  importModule,
  exists: fileExists,
});

// With the worker loop already listening, in this same turn: a task that arrives next and never
// yields must not find the process still unwatched (see @threadkit/core/adapter).
if (!port) {
  startParentWatch(
    process.argv.slice(2),
    process,
    (source) => new Worker(source, { eval: true }),
    (text) => void process.stderr.write(`${text}\n`),
  );
}
