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

/**
 * The cpu-scaling case: `measure(workers)` gives tasks/s with that many workers; the figure is
 * the speed-up from 1 worker to `workers`, as a percentage of a linear one.
 */
export async function scalingEfficiency(measure, workers) {
  const one = await measure(1);
  const many = await measure(workers);
  return { value: (100 * many) / (one * workers), oneWorker: one, workers: many };
}

export const HASH_TASK = new URL('../workers/hash-task.mjs', import.meta.url).href;
