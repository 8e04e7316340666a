// The task module the remote scenario's threadkit workers serve (`threadkit-worker --tasks
// bench=src/workers/remote-tasks.mjs`); the plain BullMQ worker (bullmq-worker.mjs) does the same.
import { appendFileSync } from 'node:fs';

/** The no-op task of `apply` and `roundtrip`. */
export function noop() {
  return null;
}

/** The item function of `map`. */
export function double(x) {
  return x * 2;
}

/** `failover`: writes "started <pid> <ms since the epoch>" to `file`, waits `ms`, returns the pid. */
export async function marker(file, ms) {
  appendFileSync(file, `started ${process.pid} ${Date.now()}\n`);
  await new Promise((resolve) => setTimeout(resolve, ms));
  return process.pid;
}
