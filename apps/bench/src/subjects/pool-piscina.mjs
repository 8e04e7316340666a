import { Piscina } from 'piscina';
import { poolThroughput, scalingEfficiency, HASH_TASK, NOOP_TASK } from '../lib/pool.mjs';

/** Tasks/s of piscina with `workers` threads: no-op tasks, or (cpu cases) the hash of `bytes` bytes. */
async function measure(workers, { n, warmup, bytes }) {
  const pool = new Piscina({ filename: bytes ? HASH_TASK : NOOP_TASK, minThreads: workers, maxThreads: workers });
  try {
    return await poolThroughput(() => pool.run(bytes ?? null), { n, warmup });
  } finally {
    await pool.destroy();
  }
}

export default {
  name: 'piscina',
  scenario: 'pool',
  cases: ['apply', 'cpu', 'cpu-scaling'],
  order: 10,
  note: 'piscina 5.3.2, `minThreads = maxThreads = 2` (1 for the one-worker run of cpu-scaling), `pool.run(arg)` per task, default queue',
  run: (o) => (o.case === 'cpu-scaling' ? scalingEfficiency((w) => measure(w, o), o.workers) : measure(o.workers, o)),
};
