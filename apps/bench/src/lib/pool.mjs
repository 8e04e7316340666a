// The pool scenario's loop for JavaScript pools: warm up (every worker started and has run
// tasks), then submit n tasks at once and wait for all of them. → tasks per second.
export async function poolThroughput(submit, { n, warmup }) {
  await Promise.all(Array.from({ length: warmup }, submit));
  const t0 = performance.now();
  await Promise.all(Array.from({ length: n }, submit));
  return (n * 1000) / (performance.now() - t0);
}

export const NOOP_TASK = new URL('../workers/noop-task.mjs', import.meta.url).href;
export const WORKERPOOL_WORKER = new URL('../workers/workerpool-worker.mjs', import.meta.url);
