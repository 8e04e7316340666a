/**
 * The worker entry for both kinds: in a worker thread it talks over `parentPort`, in a
 * forked process over the IPC channel; either way it hands control to core's worker loop.
 */
import { writeSync } from 'node:fs';
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import { ipcScope, startParentWatch } from '@threadkit/core/adapter';
import { InvalidStateError, runWorker, type WorkerScope } from '@threadkit/core/worker';

const port = isMainThread ? null : parentPort;

// TypeScript task modules: Node >= 22.6 strips types itself; older Nodes get tsx's loader, once.
let tsx: Promise<unknown> | undefined;
async function importModule(url: string): Promise<Record<string, unknown>> {
  if (/\.[cm]?tsx?$/i.test(new URL(url).pathname) && !(process.features as { typescript?: unknown }).typescript) {
    tsx ??= import('tsx/esm/api').then(({ register }) => register());
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
