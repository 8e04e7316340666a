// Under random task durations, random crashes and random aborts and timeouts, on threads and
// processes, with random pool sizes and recycling: every submitted task settles exactly once
// (resolved, rejected or aborted), each the way its outcome says; no task runs twice; and the
// pool ends with its configured size.
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { AbortError, Pool, Queue, TaskError, TimeoutError, WorkerExitError, taskModule } from '@threadkit/node';
import { fixturesUrl } from '@threadkit/core/conformance';
import type { Outcome } from './fixtures/pool-tasks.ts';

const tasks = taskModule<typeof import('./fixtures/pool-tasks.ts')>(new URL('./fixtures/pool-tasks.ts', import.meta.url));
/** The conformance suite's pool task that records each run in a Queue. */
const core = taskModule<{
  job(id: number, mode: 'ok' | 'exit' | 'uncaught', runs: Queue<number>): Promise<{ id: number; ident: number | undefined }>;
}>(new URL('./pool-tasks.js', fixturesUrl));

const task = fc.record({
  ms: fc.integer({ min: 0, max: 15 }),
  outcome: fc.constantFrom<Outcome>('ok', 'ok', 'ok', 'throw', 'reject', 'crash', 'cooperate', 'ignore'),
  abortAfter: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }),
  timeout: fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined }),
  submitAfter: fc.constantFrom(0, 0, 0, 1, 5),
});

const scenario = fc.record({
  kind: fc.constantFrom<'thread' | 'process'>('thread', 'thread', 'process'),
  size: fc.integer({ min: 1, max: 3 }),
  maxTasksPerChild: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
  abortGrace: fc.integer({ min: 10, max: 80 }),
  tasks: fc.array(task, { minLength: 1, maxLength: 24 }),
  map: fc.option(
    fc.record({
      items: fc.integer({ min: 1, max: 60 }),
      chunksize: fc.option(fc.integer({ min: 1, max: 9 }), { nil: undefined }),
      abortAfter: fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined }),
    }),
    { nil: undefined },
  ),
});

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('Pool under random durations, crashes and aborts', () => {
  it('settles every task exactly once, as its outcome says, runs none twice, and keeps its size', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const pool = new Pool({ kind: s.kind, size: s.size, maxTasksPerChild: s.maxTasksPerChild, abortGrace: s.abortGrace });
        // How many times each task ran (threads share this memory with the pool's workers).
        const runs = s.kind === 'thread' ? new SharedArrayBuffer(4 * s.tasks.length) : undefined;
        try {
          const settledCount = new Array<number>(s.tasks.length).fill(0);
          const outcomes: Promise<{ ok: boolean; value: unknown }>[] = [];
          for (let id = 0; id < s.tasks.length; id++) {
            const t = s.tasks[id]!;
            if (t.submitAfter) await sleep(t.submitAfter);
            const controller = t.abortAfter === undefined ? undefined : new AbortController();
            const p = pool.apply(tasks.work, [id, t.ms, t.outcome, runs], { signal: controller?.signal, timeout: t.timeout });
            if (controller) setTimeout(() => controller.abort(), t.abortAfter);
            outcomes.push(
              p.then(
                (value) => {
                  settledCount[id]!++;
                  return { ok: true, value };
                },
                (error: unknown) => {
                  settledCount[id]!++;
                  return { ok: false, value: error };
                },
              ),
            );
          }
          let mapped: Promise<unknown> | undefined;
          if (s.map) {
            const controller = s.map.abortAfter === undefined ? undefined : new AbortController();
            const items = Array.from({ length: s.map.items }, (_, i) => i);
            mapped = pool.map(tasks.slowSquare, items, { chunksize: s.map.chunksize, signal: controller?.signal }).then(
              (out) => {
                if (JSON.stringify(out) !== JSON.stringify(items.map((x) => x * x))) throw new Error(`map returned ${JSON.stringify(out)}`);
              },
              (error: unknown) => {
                if (!(error instanceof AbortError) && !(error instanceof WorkerExitError)) throw error;
              },
            );
            if (controller) setTimeout(() => controller.abort(), s.map.abortAfter);
          }
          const results = await Promise.all(outcomes);
          await mapped;
          // Let late settlements show up, if there were any.
          await sleep(5);
          results.forEach(({ ok, value }, id) => {
            const t = s.tasks[id]!;
            if (settledCount[id] !== 1) throw new Error(`task ${id} settled ${settledCount[id]} times`);
            const limited = t.abortAfter !== undefined || t.timeout !== undefined;
            const error = value as Error;
            if (ok) {
              const expected = t.outcome === 'ok' || t.outcome === 'ignore' || t.outcome === 'cooperate' ? [id, -id] : [];
              if (!expected.includes(value as number)) throw new Error(`task ${id} (${t.outcome}) resolved with ${String(value)}`);
              return;
            }
            if (limited && (error instanceof AbortError || error instanceof TimeoutError)) return;
            // A worker that dies fails the task it was running; the tasks it held run elsewhere.
            if (error instanceof WorkerExitError && (t.outcome === 'crash' || limited)) return;
            if (error instanceof TaskError && (t.outcome === 'throw' || t.outcome === 'reject')) return;
            throw new Error(`task ${id} (${t.outcome}, abort ${t.abortAfter}, timeout ${t.timeout}) rejected with ${error?.name}: ${error?.message}`);
          });
          if (runs) {
            const counts = new Int32Array(runs);
            for (let id = 0; id < counts.length; id++) if (counts[id]! > 1) throw new Error(`task ${id} ran ${counts[id]} times`);
          }
          const stats = pool.stats();
          const total = stats.completed + stats.failed + stats.aborted + stats.timedOut;
          const expected = s.tasks.length + (s.map ? Math.ceil(s.map.items / (s.map.chunksize ?? Math.ceil(s.map.items / (4 * s.size)))) : 0);
          if (stats.submitted !== expected) throw new Error(`submitted ${stats.submitted}, expected ${expected}`);
          // Chunks of an aborted map that were dropped quietly count nowhere else.
          if (!s.map && total !== stats.submitted) throw new Error(`${total} tasks ended (${JSON.stringify(stats)}) of ${stats.submitted} submitted`);
          if (stats.queued !== 0) throw new Error(`${stats.queued} tasks still queued`);
          // Workers killed after their grace period are replaced, and a pool starts workers as tasks
          // need them (so it may never have had `size`): wait for the last replacements to settle.
          const end = Date.now() + 20_000;
          const settled = (): boolean => {
            const now = pool.stats();
            return now.workers >= 1 && now.workers <= s.size && now.starting === 0 && now.running === 0 && now.busy === 0;
          };
          while (!settled()) {
            if (Date.now() > end) throw new Error(`the pool did not settle with at most ${s.size} workers: ${JSON.stringify(pool.stats())}`);
            await sleep(10);
          }
        } finally {
          await pool.close();
        }
        if (pool.stats().workers !== 0) throw new Error('close() left workers behind');
      }),
      { numRuns: Number(process.env.TK_PROPERTY_RUNS ?? 8), interruptAfterTimeLimit: 90_000 },
    );
  }, 120_000);
});

/** Everything in a queue this thread owns, taken out. */
function drain<T>(queue: Queue<T>): T[] {
  const out: T[] = [];
  while (queue.qsize() > 0) out.push(queue.getNowait());
  return out;
}

const exits = fc.record({
  size: fc.integer({ min: 1, max: 3 }),
  // About one task in ten ends its worker: by exit(1), or now and then by an error that escapes it.
  modes: fc.array(fc.constantFrom<'ok' | 'exit' | 'uncaught'>(...Array<'ok'>(17).fill('ok'), 'exit', 'exit', 'uncaught'), { minLength: 20, maxLength: 150 }),
  // Submitted in one go, or in a few waves that arrive while workers are dying.
  waves: fc.integer({ min: 1, max: 4 }),
});

describe('Pool of processes under random exit(1)s', () => {
  it('settles every task once: a task that ends its worker fails, every other runs exactly once and succeeds, elsewhere if need be', async () => {
    await fc.assert(
      fc.asyncProperty(exits, async (s) => {
        const pool = new Pool({ kind: 'process', size: s.size });
        const runs = new Queue<number>();
        try {
          // Quick runs first: the pool then sends each worker many tasks at once, so tasks wait behind each exit.
          for (let i = 0; i < 5; i++) await pool.apply(core.job, [-1, 'ok', runs]);
          drain(runs);
          const settledCount = new Array<number>(s.modes.length).fill(0);
          const outcomes: Promise<PromiseSettledResult<{ id: number }>>[] = [];
          const perWave = Math.ceil(s.modes.length / s.waves);
          for (let id = 0; id < s.modes.length; id++) {
            if (id > 0 && id % perWave === 0) await Promise.race([outcomes[id - 1], new Promise((resolve) => setTimeout(resolve, 5))]);
            outcomes.push(
              pool.apply(core.job, [id, s.modes[id]!, runs]).then(
                (value) => {
                  settledCount[id]!++;
                  return { status: 'fulfilled', value } as const;
                },
                (reason: unknown) => {
                  settledCount[id]!++;
                  return { status: 'rejected', reason } as const;
                },
              ),
            );
          }
          const results = await Promise.all(outcomes);
          const ran = new Array<number>(s.modes.length).fill(0);
          for (const id of drain(runs)) ran[id]!++;
          results.forEach((r, id) => {
            const mode = s.modes[id]!;
            if (settledCount[id] !== 1) throw new Error(`task ${id} settled ${settledCount[id]} times`);
            if (ran[id] !== 1) throw new Error(`task ${id} (${mode}) ran ${ran[id]} times`);
            if (mode === 'ok') {
              if (r.status !== 'fulfilled') throw new Error(`task ${id} never ended its worker, yet failed: ${(r.reason as Error).message}`);
              if (r.value.id !== id) throw new Error(`task ${id} resolved with ${JSON.stringify(r.value)}`);
            } else if (r.status !== 'rejected') throw new Error(`task ${id} (${mode}) resolved`);
            else if (mode === 'exit' && !(r.reason instanceof WorkerExitError && /exited with code 1 while running job/.test((r.reason as Error).message))) {
              throw new Error(`task ${id} (exit) rejected with ${(r.reason as Error).message}`);
            } else if (mode === 'uncaught' && !(r.reason instanceof TaskError && /escaped from job/.test((r.reason as Error).message))) {
              throw new Error(`task ${id} (uncaught) rejected with ${(r.reason as Error).message}`);
            }
          });
          const deaths = s.modes.filter((m) => m !== 'ok').length;
          const stats = pool.stats();
          if (stats.crashed !== deaths) throw new Error(`${stats.crashed} workers crashed, ${deaths} tasks ended theirs`);
          if (stats.failed !== deaths) throw new Error(`${stats.failed} tasks failed, ${deaths} ended their worker`);
        } finally {
          await pool.terminate();
        }
      }),
      { numRuns: Number(process.env.TK_PROPERTY_RUNS ?? 6), interruptAfterTimeLimit: 150_000 },
    );
  }, 180_000);
});
