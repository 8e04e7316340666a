// BullMQ's sandboxed processor for the remote scenario's `sandboxed` worker (bullmq-worker.mjs
// with useWorkerThreads): the same jobs as its inline processor, run in a worker thread.
import { appendFileSync } from 'node:fs';

export default async function processor(job) {
  switch (job.name) {
    case 'noop':
      return null;
    case 'double':
      return job.data.x * 2;
    case 'marker': {
      appendFileSync(job.data.file, `started ${process.pid} ${Date.now()}\n`);
      await new Promise((resolve) => setTimeout(resolve, job.data.ms));
      return process.pid;
    }
    default:
      throw new Error(`unknown job ${job.name}`);
  }
}
