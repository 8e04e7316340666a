/**
 * `kind: 'inline'` workers: tasks run on the worker's own thread, several at once (its
 * concurrency), each with its own context, progress and `taskSignal()` across its awaits; results,
 * errors and cancellation reach the caller as from a local pool's threads.
 */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AbortError, TaskError, TimeoutError } from '@threadkit/core';
import { RemotePool, remoteTasks, serve } from '@threadkit/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type WorkerProcess, startWorker, stopAll } from './cluster.js';
import { type RedisServer, startRedis } from './redis-server.js';

type Tasks = typeof import('./fixtures/tasks.ts');
const tasks = remoteTasks<Tasks>('tasks');

let redis: RedisServer;
let workers: WorkerProcess[] = [];
const name = 'inline';

beforeAll(async () => {
  redis = await startRedis();
  workers = [await startWorker({ url: redis.url, name, label: 'I', kind: 'inline', concurrency: 20 })];
});

afterAll(async () => {
  await stopAll(workers);
  await redis?.stop();
});

const until = async (check: () => boolean, ms = 10_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('an inline worker', () => {
  it('applies, maps and streams; its stats say inline, its size its concurrency', async () => {
    await using pool = new RemotePool({ connection: redis.url, name });
    expect(await pool.apply(tasks.add, [2, 3])).toBe(5);
    const items = Array.from({ length: 500 }, (_, i) => i);
    expect(await pool.map(tasks.double, items, { chunksize: 16 })).toEqual(items.map((x) => x * 2));
    const out: number[] = [];
    for await (const v of pool.imap(tasks.double, items.slice(0, 30), { chunksize: 4 })) out.push(v);
    expect(out).toEqual(items.slice(0, 30).map((x) => x * 2));
    const host = pool.stats().hosts[0]!;
    expect(host.kind).toBe('inline');
    expect(host.size).toBe(20);
  });

  it('rejects with TaskError carrying the remote class name, code, cause and stack, from the main thread', async () => {
    await using pool = new RemotePool({ connection: redis.url, name });
    const e = (await pool.apply(tasks.fail, ['bad input']).catch((x: unknown) => x)) as TaskError;
    expect(e).toBeInstanceOf(TaskError);
    expect(e.remoteName).toBe('ValidationError');
    expect(e.message).toBe('ValidationError: bad input');
    expect((e.cause as { code?: string }).code).toBe('E_VALID');
    expect(((e.cause as Error).cause as Error).message).toBe('the inner cause');
    expect(e.stack).toContain('tasks.ts');
    expect(e.threadName).toMatch(/:\d+\/main$/);
  });

  it('gives each of many concurrent tasks its own context across its awaits', async () => {
    await using pool = new RemotePool({ connection: redis.url, name });
    const runs = await Promise.all(Array.from({ length: 40 }, (_, i) => pool.apply(tasks.contextAcross, [5 + (i % 7) * 10])));
    for (const r of runs) {
      expect(r.after).toBe(r.before);
      expect(r.aborted).toBe(false);
    }
    expect(new Set(runs.map((r) => r.before)).size).toBe(40);
  });

  it('passes progress to the call that reported it, with two calls reporting at once', async () => {
    await using pool = new RemotePool({ connection: redis.url, name });
    const a: unknown[] = [];
    const b: unknown[] = [];
    const [ra, rb] = await Promise.all([
      pool.apply(tasks.progress, [4], { onProgress: (p) => a.push(p) }),
      pool.apply(tasks.progress, [6], { onProgress: (p) => b.push(p) }),
    ]);
    expect([ra, rb]).toEqual([4, 6]);
    expect(a.at(-1)).toEqual({ step: 4, of: 4 });
    expect(b.at(-1)).toEqual({ step: 6, of: 6 });
    expect(a.every((p) => (p as { of: number }).of === 4)).toBe(true);
    expect(b.every((p) => (p as { of: number }).of === 6)).toBe(true);
  });

  it("an abort and a timeout reach the running task's taskSignal(); other tasks run on", async () => {
    await using pool = new RemotePool({ connection: redis.url, name });
    const log = join(tmpdir(), `threadkit-inline-${process.pid}-${Date.now()}.log`);
    const text = (): string => {
      try {
        return readFileSync(log, 'utf8');
      } catch {
        return '';
      }
    };
    const controller = new AbortController();
    const aborted = pool.apply(tasks.logged, [log, 20_000], { signal: controller.signal });
    const bystander = pool.apply(tasks.logged, [log, 300]);
    await until(() => (text().match(/started/g) ?? []).length === 2);
    controller.abort();
    await expect(aborted).rejects.toBeInstanceOf(AbortError);
    await until(() => text().includes('aborted '));
    expect(await bystander).toMatchObject({ attempt: 1 });
    const timed = pool.apply(tasks.logged, [log, 20_000], { timeout: 500 });
    await expect(timed).rejects.toBeInstanceOf(TimeoutError);
    await until(() => (text().match(/aborted /g) ?? []).length === 2);
  });
});

describe('inline options', () => {
  it('serve() refuses the local pool options with kind inline, before connecting', async () => {
    const base = { connection: 'redis://127.0.0.1:1', name: 'x', tasks: { tasks: new URL('./fixtures/tasks.ts', import.meta.url) }, kind: 'inline' as const };
    await expect(serve({ ...base, size: 2 })).rejects.toThrow(/size is an option of the local pool, and kind 'inline' has none/);
    await expect(serve({ ...base, abortGrace: 100 })).rejects.toThrow(TypeError);
    // biome-ignore lint/suspicious/noExplicitAny: a kind that does not exist, as from untyped code
    await expect(serve({ ...base, kind: 'fiber' as any })).rejects.toThrow(/kind must be 'thread', 'process' or 'inline', got .*fiber/);
  });

  it('threadkit-worker refuses --size with --kind inline (exit 2, usage)', async () => {
    const w = startWorker({ url: redis.url, name, label: 'X', kind: 'inline', args: ['--size', '2'] });
    await expect(w).rejects.toThrow(/--size is for a local pool, and --kind inline has none/);
  });
});
