// The remote scenario's BullMQ jobs, one processor for both of bullmq-worker.mjs's ways: its main
// thread runs it, and as BullMQ's sandboxed processor file (useWorkerThreads) worker threads do.
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
