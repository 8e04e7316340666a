// threadkit's Pool in the pool scenario. This file is also the pool's task module (top level
// free of side effects, so importing it in a worker does nothing).
import { createHash } from 'node:crypto';
import { Pool, taskModule } from '@threadkit/node';
import { poolThroughput, scalingEfficiency } from '../lib/pool.mjs';

/** The no-op task of `apply`. */
export function noop() {
  return null;
}

/** The identity of `map`. */
export function identity(x) {
  return x;
}

let buffer;
/** The cpu cases' task: SHA-256 of `bytes` bytes, as src/workers/hash-task.mjs. */
export function hash(bytes) {
  if (!buffer || buffer.length !== bytes) buffer = Buffer.alloc(bytes, 7);
  return createHash('sha256').update(buffer).digest('hex').slice(0, 8);
}

const tasks = taskModule(new URL(import.meta.url));

/** Tasks/s of a pool of `workers`: no-op tasks, or (cpu cases) the hash of `bytes` bytes. */
async function measure(workers, { n, warmup, bytes }, kind = 'thread') {
  const pool = new Pool({ size: workers, kind });
  try {
    return await poolThroughput(() => (bytes ? pool.apply(tasks.hash, [bytes]) : pool.apply(tasks.noop)), { n, warmup });
  } finally {
    await pool.terminate();
  }
}

export default [
  {
    name: 'threadkit Pool',
    scenario: 'pool',
    cases: ['apply', 'cpu', 'cpu-scaling'],
    order: 60,
    note: '`new Pool({ size: 2 })` (worker threads; `size: 1` for the one-worker run), `pool.apply(task, args)` per task',
    run: (o) => (o.case === 'cpu-scaling' ? scalingEfficiency((w) => measure(w, o), o.workers) : measure(o.workers, o)),
  },
  {
    name: 'threadkit Pool, processes',
    scenario: 'pool',
    cases: ['apply'],
    order: 70,
    note: "`new Pool({ size: 2, kind: 'process' })` (forked OS processes, as CPython's), `pool.apply(noop)` per task",
    run: (o) => measure(o.workers, o, 'process'),
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
