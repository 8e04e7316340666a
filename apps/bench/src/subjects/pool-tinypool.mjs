import { Tinypool } from 'tinypool';
import { poolThroughput, NOOP_TASK } from '../lib/pool.mjs';

export default {
  name: 'tinypool',
  scenario: 'pool',
  cases: ['apply'],
  order: 20,
  note: 'tinypool 1.1.1, `minThreads = maxThreads = 2`, `pool.run(null)` per task',
  async run({ workers, n, warmup }) {
    const pool = new Tinypool({ filename: NOOP_TASK, minThreads: workers, maxThreads: workers });
    try {
      return await poolThroughput(() => pool.run(null), { n, warmup });
    } finally {
      await pool.destroy();
    }
  },
};
