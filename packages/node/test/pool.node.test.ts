// Pool on Node: what only Node can show. Liveness at exit (a pool left open does not hold the
// program once its tasks are done, and a pending task does), and a process worker killed from
// outside (SIGKILL, as the OOM killer does), even in the middle of a batch of quick tasks,
// rejects only the task it was running and is replaced.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Event, Pool, Queue, WorkerExitError, nodeRuntime, taskModule } from '@threadkit/node';
import { PATIENCE_MS, fixturesUrl } from '@threadkit/core/conformance';

const script = fileURLToPath(new URL('./fixtures/pool-liveness.mjs', import.meta.url));
const tasks = taskModule<typeof import('./fixtures/pool-tasks.ts')>(new URL('./fixtures/pool-tasks.ts', import.meta.url));
/** The conformance suite's pool task that records each run in a Queue. */
const core = taskModule<{
  job(id: number, mode: 'ok' | 'exit' | 'uncaught', runs: Queue<number>): Promise<{ id: number; ident: number | undefined }>;
  waitForAbort(limitMs: number, started?: Event): Promise<string>;
}>(new URL('./pool-tasks.js', fixturesUrl));

/** Everything in a queue this thread owns, taken out. */
function drain<T>(queue: Queue<T>): T[] {
  const out: T[] = [];
  while (queue.qsize() > 0) out.push(queue.getNowait());
  return out;
}

function run(kind: string, what: string) {
  const started = Date.now();
  const r = spawnSync(process.execPath, [script, kind, what], { encoding: 'utf8', timeout: 20_000 });
  return { ...r, ms: Date.now() - started };
}

describe.each(['thread', 'process'])('Pool of %ss at exit', (kind) => {
  it('a pool left open does not keep the program alive once its tasks are done', () => {
    const r = run(kind, 'idle');
    expect(r.signal, `hung: ${r.stdout}`).toBeNull();
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('first 49\nmain end\n');
    expect(r.stderr).toBe('');
  });

  it('a task still pending keeps it alive until the task is done', () => {
    const r = run(kind, 'pending');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('first 49\nmain end\npending task done 5\n');
  });

  it('awaiting terminate() at the top level keeps it alive until the workers are gone', () => {
    const r = run(kind, 'terminate');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('first 49\nterminated, 0 workers\nmain end\n');
  });
});

describe('Pool of processes, a worker killed from outside', () => {
  it('rejects the task it ran with WorkerExitError (exit code -9), is replaced, and the pool serves on', async () => {
    await using pool = new Pool({ kind: 'process', size: 1 });
    const victim = await pool.apply(tasks.pid);
    const started = new Event();
    const running = pool.apply(core.waitForAbort, [60_000, started]);
    expect(await started.wait({ timeout: PATIENCE_MS }), 'the task runs').toBe(true);
    process.kill(victim, 'SIGKILL');
    const error = await running.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WorkerExitError);
    expect((error as WorkerExitError).exitCode).toBe(-9);
    expect((error as Error).message).toMatch(/exited with code -9 while running waitForAbort/);
    expect(await pool.apply(tasks.slowSquare, [3])).toBe(9);
    expect(await pool.apply(tasks.pid)).not.toBe(victim);
    expect(pool.stats().crashed).toBe(1);
  });
});

describe('Pool of processes, a worker killed from outside in the middle of a batch of quick tasks', () => {
  it('fails only the task it was running and those whose results died with it; the tasks it held and had not started run elsewhere, each once', async () => {
    await using pool = new Pool({ kind: 'process', size: 2 });
    const runs = new Queue<number>();
    // Quick runs first: the pool then sends each worker many tasks at once, and results come back in batches.
    for (let i = 0; i < 10; i++) await pool.apply(core.job, [-1, 'ok', runs]);
    drain(runs);
    const n = 400;
    const killAt = [100, 250];
    let done = 0;
    const victims: number[] = [];
    const all = Array.from({ length: n }, (_, id) =>
      pool.apply(core.job, [id, 'ok', runs]).then((value) => {
        // The worker that sent this result is in the middle of its batch: kill it there.
        if (killAt.includes(++done) && value.ident !== undefined && !victims.includes(value.ident)) {
          victims.push(value.ident);
          process.kill(value.ident, 'SIGKILL');
        }
        return value;
      }),
    );
    const settled = await Promise.allSettled(all);
    expect(victims.length).toBe(2);
    const rejected = settled.flatMap((s, id) => (s.status === 'rejected' ? [{ id, error: s.reason as Error }] : []));
    // Results come back in batches (as from a thread): a kill takes with it the task it was running
    // and the results of tasks that had ended since the last batch went out. Each of those ran once
    // and fails saying so; none is run again, and no task that had not started fails.
    const running = rejected.filter((r) => /while running job/.test(r.error.message));
    expect(running.length, `at most one running task per kill: ${rejected.map((r) => `${r.id}: ${r.error.message}`).join('; ')}`).toBeLessThanOrEqual(
      victims.length,
    );
    for (const { error } of rejected) {
      expect(error).toBeInstanceOf(WorkerExitError);
      expect(error.message).toMatch(
        /exited with code -9 (while running job \(if it had just returned, its result was lost with the worker; it is not run again\)|after job had run in it: its result was lost with the worker; it is not run again)/,
      );
    }
    const count = new Map<number, number>();
    for (const id of drain(runs)) count.set(id, (count.get(id) ?? 0) + 1);
    settled.forEach((s, id) => {
      if (s.status === 'fulfilled') {
        expect(s.value.id).toBe(id);
        expect(count.get(id), `task ${id} ran once`).toBe(1);
      } else if (/after job had run in it/.test((s.reason as Error).message)) {
        expect(count.get(id), `task ${id}, whose result was lost, ran once`).toBe(1);
      } else expect(count.get(id) ?? 0, `failed task ${id} ran at most once`).toBeLessThanOrEqual(1);
    });
    expect(pool.stats().crashed).toBe(2);
  }, 60_000);
});

describe('Pool of processes: the count of started tasks', () => {
  it('is kept in a progress cell, so quick tasks still report their results in batches, not one message each', async () => {
    // Count the messages the worker sends, and read its cell, through the runtime the pool uses.
    const spawn = nodeRuntime.spawn;
    const handles: { progress?(): number }[] = [];
    let messages = 0;
    (nodeRuntime as { spawn: typeof spawn }).spawn = (options, events) => {
      const handle = spawn(options, {
        ...events,
        message: (data) => {
          messages++;
          events.message(data);
        },
      });
      handles.push(handle);
      return handle;
    };
    try {
      await using pool = new Pool({ kind: 'process', size: 1 });
      await pool.apply(tasks.pid);
      const before = messages;
      const n = 400;
      const out = await Promise.all(Array.from({ length: n }, () => pool.apply(tasks.pid)));
      expect(out.length).toBe(n);
      expect(handles[0]!.progress?.(), 'the worker counted every task it started in its cell').toBe(n + 1);
      expect(messages - before, 'results came back in batches').toBeLessThan(n / 4);
    } finally {
      (nodeRuntime as { spawn: typeof spawn }).spawn = spawn;
    }
  }, 60_000);
});

describe.each(['thread', 'process'] as const)('Pool of %ss with resourceLimits', (kind) => {
  it('a task that runs out of memory rejects with WorkerExitError; its worker is replaced and the pool serves on', async () => {
    await using pool = new Pool({ kind, size: 1, resourceLimits: { maxOldGenerationSizeMb: 48 } });
    const first = await pool.apply(tasks.pid);
    const error = await pool.apply(tasks.hog).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WorkerExitError);
    expect((error as Error).message).toMatch(/while running hog/);
    expect(await pool.apply(tasks.slowSquare, [4])).toBe(16);
    expect(pool.stats().crashed).toBe(1);
    expect(pool.size).toBe(1);
    if (kind === 'process') expect(await pool.apply(tasks.pid)).not.toBe(first);
  }, 60_000);
});

describe('Pool resourceLimits: bad input', () => {
  it('is refused with an error that names what is wrong', () => {
    expect(() => new Pool({ size: 1, resourceLimits: 64 as never })).toThrow(
      /resourceLimits must be an object like \{ maxOldGenerationSizeMb: 64 \}, got `64`/,
    );
    expect(() => new Pool({ size: 1, resourceLimits: { maxOldGenerationSizeMb: -1 } })).toThrow(
      /resourceLimits.maxOldGenerationSizeMb must be a number of MB above 0, got `-1`/,
    );
    expect(() => new Pool({ size: 1, resourceLimits: { maxHeap: 64 } as never })).toThrow(
      /resourceLimits has no option maxHeap; it takes maxOldGenerationSizeMb, maxYoungGenerationSizeMb, stackSizeMb/,
    );
  });
});
