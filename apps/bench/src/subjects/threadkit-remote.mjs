// threadkit's RemotePool in the remote scenario: the caller here, the workers `threadkit-worker`
// processes (one; two for failover) serving src/workers/remote-tasks.mjs in a local pool of one
// thread, --concurrency 50.
import { RemotePool, remoteTasks } from '@threadkit/redis';
import { poolThroughput } from '../lib/pool.mjs';
import { failover, killAll, queueName, roundTrips, redisAvailable, redisUrl, threadkitWorker } from '../lib/redis.mjs';

const tasks = remoteTasks('bench');

/** Runs `body(pool)` against `workers` fresh worker processes, then ends them all. */
async function withPool(workers, options, body) {
  const url = await redisUrl();
  const name = queueName('tk');
  const procs = [];
  try {
    for (let i = 0; i < workers; i++) procs.push(await threadkitWorker(url, name, options));
    const pool = new RemotePool({ connection: url, name });
    try {
      return await body(pool, procs);
    } finally {
      await pool.terminate();
    }
  } finally {
    await killAll(procs);
  }
}

const common = { scenario: 'remote', available: redisAvailable };

export default [
  {
    ...common,
    name: 'threadkit RemotePool.apply',
    cases: ['apply', 'roundtrip'],
    order: 60,
    note: 'one `threadkit-worker --size 1 --concurrency 50` process (its jobs run in a local Pool of one thread). apply: `pool.apply(tasks.noop)` N times at once, `Promise.all` of the answers; calls made in one turn travel together, up to 64 to a BullMQ job. roundtrip: `await pool.apply(tasks.noop)` N times in a row, the figure of a run the median of its N round trips (p90, p99 in results/latest.json)',
    run: ({ case: kase, n, warmup }) =>
      withPool(1, {}, (pool) =>
        kase === 'apply' ? poolThroughput(() => pool.apply(tasks.noop), { n, warmup }) : roundTrips(() => pool.apply(tasks.noop), { n, warmup }),
      ),
  },
  {
    ...common,
    name: 'threadkit RemotePool.apply, --kind inline',
    cases: ['apply', 'roundtrip'],
    order: 61,
    note: "as `threadkit RemotePool.apply`, its worker `threadkit-worker --kind inline --concurrency 50`: tasks run on the worker's own thread, as a plain BullMQ processor runs (the peer of `BullMQ, waitUntilFinished`)",
    run: ({ case: kase, n, warmup }) =>
      withPool(1, { kind: 'inline' }, (pool) =>
        kase === 'apply' ? poolThroughput(() => pool.apply(tasks.noop), { n, warmup }) : roundTrips(() => pool.apply(tasks.noop), { n, warmup }),
      ),
  },
  {
    ...common,
    name: 'threadkit RemotePool.map',
    cases: ['map'],
    order: 60,
    note: "`pool.map(tasks.double, items)` with the default chunking (Python's: N / (4 × the workers' pool size) items per job, so 4 jobs of 50 000 for 200 000), items an array of N ints",
    run: ({ n, warmup }) =>
      withPool(1, {}, async (pool) => {
        const items = Array.from({ length: n }, (_, i) => i);
        await pool.map(tasks.double, items.slice(0, Math.max(warmup, 1)));
        const t0 = performance.now();
        const out = await pool.map(tasks.double, items);
        const ms = performance.now() - t0;
        if (out.length !== n || out[n - 1] !== 2 * (n - 1)) throw new Error(`map returned ${out.length} items, the last ${out[n - 1]}`);
        return (n * 1000) / ms;
      }),
  },
  {
    ...common,
    name: 'threadkit RemotePool, --lease 1000',
    cases: ['failover'],
    order: 60,
    note: "two `threadkit-worker --lease 1000` processes (BullMQ's lockDuration 1000 ms, stalledInterval 500 ms); `pool.apply(tasks.marker)` writes a line when it starts; the process running it is killed with SIGKILL; the figure is the second start's time minus the kill's (both from `Date.now()`)",
    run: ({ lease }) =>
      withPool(2, { lease }, async (pool, procs) => ({ ...(await failover(procs, (file) => pool.apply(tasks.marker, [file, 1000]))), lease })),
  },
];
