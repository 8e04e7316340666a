// Pool on Node: what only Node can show. Liveness at exit (a pool left open does not hold the
// program once its tasks are done, and a pending task does), and a process worker killed from
// outside (SIGKILL, as the OOM killer does) rejects only its task and is replaced.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Pool, WorkerExitError, taskModule } from '@threadkit/node';

const script = fileURLToPath(new URL('./fixtures/pool-liveness.mjs', import.meta.url));
const tasks = taskModule<typeof import('./fixtures/pool-tasks.ts')>(new URL('./fixtures/pool-tasks.ts', import.meta.url));

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
    const running = pool.apply(tasks.work, [1, 5_000, 'ok']);
    await new Promise((resolve) => setTimeout(resolve, 200));
    process.kill(victim, 'SIGKILL');
    const error = await running.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WorkerExitError);
    expect((error as WorkerExitError).exitCode).toBe(-9);
    expect((error as Error).message).toMatch(/exited with code -9 while running work/);
    expect(await pool.apply(tasks.slowSquare, [3])).toBe(9);
    expect(await pool.apply(tasks.pid)).not.toBe(victim);
    expect(pool.stats().crashed).toBe(1);
  });
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
    expect(() => new Pool({ size: 1, resourceLimits: 64 as never })).toThrow(/resourceLimits must be an object like \{ maxOldGenerationSizeMb: 64 \}, got `64`/);
    expect(() => new Pool({ size: 1, resourceLimits: { maxOldGenerationSizeMb: -1 } })).toThrow(/resourceLimits.maxOldGenerationSizeMb must be a number of MB above 0, got `-1`/);
    expect(() => new Pool({ size: 1, resourceLimits: { maxHeap: 64 } as never })).toThrow(/resourceLimits has no option maxHeap; it takes maxOldGenerationSizeMb, maxYoungGenerationSizeMb, stackSizeMb/);
  });
});
