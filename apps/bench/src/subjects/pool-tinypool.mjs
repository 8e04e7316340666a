import { Tinypool } from 'tinypool';
import { poolThroughput, scalingEfficiency, HASH_TASK, NOOP_TASK } from '../lib/pool.mjs';

/** Tasks/s of tinypool with `workers` threads: no-op tasks, or (cpu cases) the hash of `bytes` bytes. */
async function measure(workers, { n, warmup, bytes }) {
  const pool = new Tinypool({ filename: bytes ? HASH_TASK : NOOP_TASK, minThreads: workers, maxThreads: workers });
  try {
    return await poolThroughput(() => pool.run(bytes ?? null), { n, warmup });
  } finally {
    await pool.destroy();
  }
}

export default {
  name: 'tinypool',
  scenario: 'pool',
  cases: ['apply', 'cpu', 'cpu-scaling'],
  order: 20,
  note: 'tinypool 1.1.1, `minThreads = maxThreads = 2` (1 for the one-worker run of cpu-scaling), `pool.run(arg)` per task',
  run: (o) => (o.case === 'cpu-scaling' ? scalingEfficiency((w) => measure(w, o), o.workers) : measure(o.workers, o)),
};
