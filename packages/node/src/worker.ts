/**
 * The worker entry for both kinds: in a worker thread it talks over `parentPort`, in a
 * forked process over the IPC channel; either way it hands control to core's worker loop.
 */
import { writeSync } from 'node:fs';
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import { progressFrom, startParentWatch } from '@threadkit/core/adapter';
import { runWorker } from '@threadkit/core/worker';

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

// A process exits only after the IPC channel has taken every message it was given.
let unsent = 0;
let exitWhenSent: (() => void) | undefined;
function send(data: unknown): void {
  // Throws at once when `data` cannot be cloned; the worker loop turns that into a failure.
  process.send!(data, undefined, undefined, () => {
    if (--unsent === 0) exitWhenSent?.();
  });
  unsent++;
}

if (!port && !process.send) {
  throw new Error('@threadkit/node/worker is started by threadkit in a worker thread or a forked process; it cannot run on its own');
}
if (!port) {
  // The parent is gone: nobody can join this process any more. Heard only while the event loop
  // turns; startParentWatch, below, sees to a process whose main thread never yields.
  process.on('disconnect', () => process.exit(1));
}

// A pool's process worker counts the tasks it starts in its progress cell, if its parent gave it one.
const cell = port ? undefined : progressFrom(process.argv.slice(2));
const cellBytes = new DataView(new ArrayBuffer(4));
function progress(count: number): boolean {
  cellBytes.setInt32(0, count, true);
  try {
    return writeSync(cell!, cellBytes, 0, 4, 0) === 4;
  } catch {
    return false;
  }
}

runWorker({
  post: port ? (data) => port.postMessage(data) : send,
  onMessage: (handler) => {
    if (port) port.on('message', handler);
    else process.on('message', handler);
  },
  onUncaught: (handler) => {
    process.on('uncaughtException', handler);
    process.on('unhandledRejection', handler);
  },
  importModule,
  ...(cell === undefined ? {} : { progress }),
  exit: (code) => {
    if (port || unsent === 0) process.exit(code);
    else exitWhenSent = () => process.exit(code);
  },
});

// With the worker loop already listening, in this same turn: a task that arrives next and never
// yields must not find the process still unwatched (see @threadkit/core/adapter).
if (!port) {
  startParentWatch(process.argv.slice(2), process, (source) => new Worker(source, { eval: true }), (text) => void process.stderr.write(`${text}\n`));
}
