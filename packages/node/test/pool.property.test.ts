// Under random task durations, random crashes and random aborts and timeouts, on threads and
// processes, with random pool sizes and recycling: every submitted task settles exactly once
// (resolved, rejected or aborted), each the way its outcome says; no task runs twice; and the
// pool ends with its configured size.
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { AbortError, Pool, TaskError, TimeoutError, WorkerExitError, taskModule } from '@threadkit/node';
import type { Outcome } from './fixtures/pool-tasks.ts';

const tasks = taskModule<typeof import('./fixtures/pool-tasks.ts')>(new URL('./fixtures/pool-tasks.ts', import.meta.url));

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
  map: fc.option(fc.record({ items: fc.integer({ min: 1, max: 60 }), chunksize: fc.option(fc.integer({ min: 1, max: 9 }), { nil: undefined }), abortAfter: fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined }) }), { nil: undefined }),
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
            // A process's worker that dies takes the tasks it held with it.
            if (error instanceof WorkerExitError && (t.outcome === 'crash' || s.kind === 'process' || limited)) return;
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
          // Workers killed after their grace period are replaced; wait for the last ones to go.
          const end = Date.now() + 10_000;
          while (pool.stats().workers !== s.size || pool.stats().running !== 0) {
            if (Date.now() > end) throw new Error(`the pool did not return to ${s.size} workers: ${JSON.stringify(pool.stats())}`);
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
