import { fileURLToPath } from 'node:url';
import workerpool from 'workerpool';
import { poolThroughput, WORKERPOOL_WORKER } from '../lib/pool.mjs';

export default {
  name: 'workerpool',
  scenario: 'pool',
  cases: ['apply'],
  order: 30,
  note: "workerpool 10.0.3, `workerType: 'thread'`, `minWorkers = maxWorkers = 2`, `pool.exec('noop')` per task",
  async run({ workers, n, warmup }) {
    const pool = workerpool.pool(fileURLToPath(WORKERPOOL_WORKER), { workerType: 'thread', minWorkers: workers, maxWorkers: workers });
    try {
      return await poolThroughput(() => pool.exec('noop', []), { n, warmup });
    } finally {
      await pool.terminate();
    }
  },
};
