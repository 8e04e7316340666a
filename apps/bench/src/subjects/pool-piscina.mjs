import { Piscina } from 'piscina';
import { poolThroughput, NOOP_TASK } from '../lib/pool.mjs';

export default {
  name: 'piscina',
  scenario: 'pool',
  cases: ['apply'],
  order: 10,
  note: 'piscina 5.3.2, `minThreads = maxThreads = 2`, `pool.run(null)` per task, default queue',
  async run({ workers, n, warmup }) {
    const pool = new Piscina({ filename: NOOP_TASK, minThreads: workers, maxThreads: workers });
    try {
      return await poolThroughput(() => pool.run(null), { n, warmup });
    } finally {
      await pool.destroy();
    }
  },
};
