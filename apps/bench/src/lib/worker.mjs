// Helpers for subjects that run their own worker threads.
import { Worker } from 'node:worker_threads';

const WORKERS = new URL('../workers/', import.meta.url);

/**
 * Starts `src/workers/<file>` with `workerData` and resolves once the worker has posted
 * `'ready'` on its parentPort (every worker in src/workers does so when it is set up).
 * Rejects if the worker errors or exits first.
 */
export function startWorker(file, workerData = {}, transferList = []) {
  const worker = new Worker(new URL(file, WORKERS), { workerData, transferList });
  return new Promise((resolve, reject) => {
    const onMessage = (m) => {
      if (m !== 'ready') return;
      cleanup();
      resolve(worker);
    };
    const onError = (e) => {
      cleanup();
      reject(e);
    };
    const onExit = (code) => {
      cleanup();
      reject(new Error(`worker ${file} exited with code ${code} before it was ready`));
    };
    const cleanup = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}

/** Resolves with the first message from `emitter` (a Worker or a MessagePort) for which `test(m)` holds. */
export function nextMessage(emitter, test = () => true) {
  return new Promise((resolve, reject) => {
    const onMessage = (m) => {
      if (!test(m)) return;
      cleanup();
      resolve(m);
    };
    const onError = (e) => {
      cleanup();
      reject(e);
    };
    const cleanup = () => {
      emitter.off('message', onMessage);
      emitter.off('error', onError);
    };
    emitter.on('message', onMessage);
    emitter.on('error', onError);
  });
}

/** Terminates every worker given, ignoring the ones already gone. */
export async function terminateAll(workers) {
  await Promise.all(workers.map((w) => w.terminate().catch(() => {})));
}
