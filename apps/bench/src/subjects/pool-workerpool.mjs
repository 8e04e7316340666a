import { fileURLToPath } from 'node:url';
import workerpool from 'workerpool';
import { poolThroughput, scalingEfficiency, WORKERPOOL_WORKER } from '../lib/pool.mjs';

/** Tasks/s of workerpool with `workers` threads: no-op tasks, or (cpu cases) the hash of `bytes` bytes. */
async function measure(workers, { n, warmup, bytes }) {
  const pool = workerpool.pool(fileURLToPath(WORKERPOOL_WORKER), { workerType: 'thread', minWorkers: workers, maxWorkers: workers });
  try {
    return await poolThroughput(() => (bytes ? pool.exec('hash', [bytes]) : pool.exec('noop', [])), { n, warmup });
  } finally {
    await pool.terminate();
  }
}

export default {
  name: 'workerpool',
  scenario: 'pool',
  cases: ['apply', 'cpu', 'cpu-scaling'],
  order: 30,
  note: "workerpool 10.0.3, `workerType: 'thread'`, `minWorkers = maxWorkers = 2` (1 for the one-worker run of cpu-scaling), `pool.exec(name, args)` per task",
  run: (o) => (o.case === 'cpu-scaling' ? scalingEfficiency((w) => measure(w, o), o.workers) : measure(o.workers, o)),
};
