/**
 * The promise under random faults: workers killed with SIGKILL at random moments while calls run,
 * and replaced. Every call settles exactly once, with its own answer; nothing is lost or delivered
 * twice. fast-check picks the calls' lengths and when and whom to kill; each run is a new queue.
 */
import fc from 'fast-check';
import { RemotePool, remoteTasks } from '@threadkit/redis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type WorkerProcess, startWorker, stopAll } from './cluster.js';
import { type RedisServer, startRedis } from './redis-server.js';

type Tasks = typeof import('./fixtures/tasks.ts');
const tasks = remoteTasks<Tasks>('tasks');

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

let run = 0;
/** Calls that ran more than once, over all runs: the kills must have hit running tasks. */
let reruns = 0;

it('every call settles exactly once, with its own answer, however workers are killed', { timeout: 240_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer({ min: 0, max: 120 }), { minLength: 20, maxLength: 40 }),
      fc.array(fc.record({ after: fc.integer({ min: 50, max: 600 }), victim: fc.nat() }), { minLength: 1, maxLength: 3 }),
      async (durations, kills) => {
        const name = `prop-${++run}`;
        const workers: WorkerProcess[] = [];
        const start = async (label: string): Promise<void> => {
          workers.push(await startWorker({ url: redis.url, name, label, size: 2, lease: 600, concurrency: 4 }));
        };
        try {
          await Promise.all([start(`${run}a`), start(`${run}b`), start(`${run}c`)]);
          await using pool = new RemotePool({ connection: redis.url, name, maxAttempts: 50 });
          const settles = new Array<number>(durations.length).fill(0);
          const calls = durations.map((ms, i) =>
            pool.apply(tasks.echo, [{ i, ms }]).then(
              (v) => {
                settles[i]!++;
                return v;
              },
              (e: unknown) => {
                settles[i]!++;
                throw e;
              },
            ),
          );
          const slow = durations.map((ms, i) => pool.apply(tasks.logged, [`/dev/null`, ms]).then((v) => ({ i, v })));
          let killed = 0;
          for (const k of kills) {
            await new Promise((r) => setTimeout(r, k.after));
            const alive = workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
            if (alive.length === 0) break;
            alive[k.victim % alive.length]!.kill('SIGKILL');
            killed++;
            await start(`${run}r${killed}`);
          }
          const values = await Promise.all(calls);
          const slowValues = await Promise.all(slow);
          // Let any answer from a task that ran twice arrive: it must be dropped.
          await new Promise((r) => setTimeout(r, 300));
          expect(values).toEqual(durations.map((ms, i) => ({ i, ms })));
          expect(slowValues.map((s) => s.i)).toEqual(durations.map((_, i) => i));
          reruns += slowValues.filter((s) => s.v.attempt > 1).length;
          expect(settles.every((s) => s === 1)).toBe(true);
          const s = pool.stats();
          expect(s.completed).toBe(2 * durations.length);
          expect(s.failed + s.lost).toBe(0);
        } finally {
          await stopAll(workers);
        }
      },
    ),
    { numRuns: 4, seed: Number(process.env.THREADKIT_SEED ?? 20261202), endOnFailure: true },
  );
  expect(reruns).toBeGreaterThan(0);
});
