// The remote scenario's plain BullMQ worker process:
//   node bullmq-worker.mjs URL QUEUE CONCURRENCY LOCK_DURATION STALLED_INTERVAL [inline|sandboxed]
// Runs the jobs in its main thread (what a BullMQ processor function does), or with `sandboxed` in
// BullMQ's sandboxed processors on worker threads (`useWorkerThreads`, the processor file
// bullmq-sandboxed.mjs, the same jobs): `noop` returns null,
// `double` returns data.x * 2, `marker` is remote-tasks.mjs's marker. Prints "ready" once its
// connection is up. On an IPC message { until: k } it answers { done } once k jobs have completed
// (the fire-and-forget figure: the caller gets no answers, only "all done").
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import sandboxedProcessor from './bullmq-sandboxed.mjs';

const [url, name, concurrency, lockDuration, stalledInterval, mode = 'inline'] = process.argv.slice(2);

// The same jobs as the sandboxed processor file, run here in the main thread.
const processor = sandboxedProcessor;

const sandboxed = mode === 'sandboxed';
const worker = new Worker(name, sandboxed ? new URL('./bullmq-sandboxed.mjs', import.meta.url) : processor, {
  ...(sandboxed ? { useWorkerThreads: true } : {}),
  connection: new Redis(url, { maxRetriesPerRequest: null }),
  concurrency: Number(concurrency),
  lockDuration: Number(lockDuration),
  stalledInterval: Number(stalledInterval),
});
worker.on('error', () => {});

let done = 0;
let until = Number.POSITIVE_INFINITY;
const check = () => {
  if (done >= until) {
    until = Number.POSITIVE_INFINITY;
    process.send({ done });
  }
};
worker.on('completed', () => {
  done++;
  check();
});
process.on('message', (m) => {
  until = m.until;
  check();
});
process.on('disconnect', () => process.exit(0));

await worker.waitUntilReady();
process.stdout.write('ready\n');
