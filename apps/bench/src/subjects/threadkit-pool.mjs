// threadkit's Pool in the pool scenario. This file is also the pool's task module (top level
// free of side effects, so importing it in a worker does nothing).
import { Pool, taskModule } from '@threadkit/node';
import { poolThroughput } from '../lib/pool.mjs';

/** The no-op task of `apply`. */
export function noop() {
  return null;
}

/** The identity of `map`. */
export function identity(x) {
  return x;
}

const tasks = taskModule(new URL(import.meta.url));

export default [
  {
    name: 'threadkit Pool',
    scenario: 'pool',
    cases: ['apply'],
    order: 60,
    note: '`new Pool({ size: 2 })` (worker threads), `pool.apply(noop)` per task',
    async run({ workers, n, warmup }) {
      const pool = new Pool({ size: workers });
      try {
        return await poolThroughput(() => pool.apply(tasks.noop), { n, warmup });
      } finally {
        await pool.terminate();
      }
    },
  },
  {
    name: 'threadkit Pool.map',
    scenario: 'pool',
    cases: ['map'],
    order: 60,
    note: "`new Pool({ size: 2 })`, `pool.map(identity, items)` with Python's default chunking (N / (4 × workers) items per chunk), items an array of N ints",
    async run({ workers, n, warmup }) {
      const pool = new Pool({ size: workers });
      try {
        const items = Array.from({ length: n }, (_, i) => i);
        await pool.map(tasks.identity, items.slice(0, Math.max(warmup, 1)));
        const t0 = performance.now();
        const out = await pool.map(tasks.identity, items);
        const ms = performance.now() - t0;
        if (out.length !== n || out[n - 1] !== n - 1) throw new Error(`map returned ${out.length} items, the last ${out[n - 1]}`);
        return (n * 1000) / ms;
      } finally {
        await pool.terminate();
      }
    },
  },
];
