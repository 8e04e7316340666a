import { TaskError, TaskNotFoundError } from '@threadkit/core';
import { PayloadTooLargeError, RemotePool, remoteTasks } from '@threadkit/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type WorkerProcess, startWorker, stopAll } from './cluster.js';
import { type RedisServer, startRedis } from './redis-server.js';

type Tasks = typeof import('./fixtures/tasks.ts');
const tasks = remoteTasks<Tasks>('tasks');

let redis: RedisServer;
let workers: WorkerProcess[] = [];
const name = 'basics';

beforeAll(async () => {
  redis = await startRedis();
  workers = await Promise.all([
    startWorker({ url: redis.url, name, label: 'A', size: 2 }),
    startWorker({ url: redis.url, name, label: 'B', size: 1, kind: 'process' }),
  ]);
});

afterAll(async () => {
  await stopAll(workers);
  await redis?.stop();
});

describe('RemotePool', () => {
  it('applies a task on a worker and gets its value', async () => {
    await using pool = new RemotePool({ connection: redis.url, name });
    expect(await pool.apply(tasks.add, [2, 3])).toBe(5);
    const many = await Promise.all(Array.from({ length: 200 }, (_, i) => pool.apply(tasks.add, [i, 1])));
    expect(many).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
  });

  it('maps, starmaps and streams in order', async () => {
    await using pool = new RemotePool({ connection: redis.url, name });
    const items = Array.from({ length: 1000 }, (_, i) => i);
    expect(await pool.map(tasks.double, items)).toEqual(items.map((x) => x * 2));
    expect(
      await pool.starmap(tasks.add, [
        [1, 2],
        [3, 4],
      ]),
    ).toEqual([3, 7]);
    const out: number[] = [];
    for await (const v of pool.imap(tasks.double, items.slice(0, 50), { chunksize: 7 })) out.push(v);
    expect(out).toEqual(items.slice(0, 50).map((x) => x * 2));
    const unordered: number[] = [];
    for await (const v of pool.imapUnordered(tasks.double, items.slice(0, 50), { chunksize: 3 })) unordered.push(v);
    expect(unordered.sort((a, b) => a - b)).toEqual(items.slice(0, 50).map((x) => x * 2));
  });

  it('rejects with TaskError carrying the remote class name, code, cause and stack', async () => {
    await using pool = new RemotePool({ connection: redis.url, name });
    const error = await pool.apply(tasks.fail, ['bad input']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskError);
    const e = error as TaskError;
    expect(e.remoteName).toBe('ValidationError');
    expect(e.message).toBe('ValidationError: bad input');
    expect((e.cause as { code?: string }).code).toBe('E_VALID');
    expect(((e.cause as Error).cause as Error).message).toBe('the inner cause');
    expect(e.stack).toContain('tasks.ts');
    expect(e.threadName).toMatch(/:\d+/);
  });

  it('fails a map with the first failure', async () => {
    await using pool = new RemotePool({ connection: redis.url, name });
    const error = await pool
      .map(
        tasks.failAt,
        Array.from({ length: 40 }, (_, i) => i),
        { chunksize: 4 },
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskError);
    expect((error as TaskError).message).toBe('RangeError: unlucky 13');
  });

  it('lists the exports when a task is not found', async () => {
    await using pool = new RemotePool({ connection: redis.url, name });
    const missing = remoteTasks<{ nope(): void }>('tasks');
    const error = await pool.apply(missing.nope, []).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskNotFoundError);
    expect((error as TaskNotFoundError).exports).toContain('add');
    expect((error as Error).message).toContain('`add`');
    const otherModule = remoteTasks<{ x(): void }>('elsewhere');
    const e2 = await pool.apply(otherModule.x, []).catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(TaskNotFoundError);
    expect((e2 as Error).message).toContain('serves no task module named "elsewhere"');
  });

  it('carries Map, Date, BigInt, typed arrays and errors both ways', async () => {
    await using pool = new RemotePool({ connection: redis.url, name });
    const value = { m: new Map([['k', new Set([1n])]]), d: new Date(5), t: new Float64Array([1.5]), e: new RangeError('sent') };
    const back = (await pool.apply(tasks.echo, [value])) as typeof value;
    expect(back.m.get('k')).toEqual(new Set([1n]));
    expect(back.d).toEqual(new Date(5));
    expect(back.t).toEqual(new Float64Array([1.5]));
    expect(back.e).toBeInstanceOf(RangeError);
    const k = await pool.apply(tasks.kinds, []);
    expect(k.big).toBe(2n ** 70n);
    expect(k.map.get(1)).toBe('one');
    expect(k.error).toBeInstanceOf(TypeError);
  });

  it('gives the task its call id and attempt', async () => {
    await using pool = new RemotePool({ connection: redis.url, name });
    const [a, b] = await Promise.all([pool.apply(tasks.context), pool.apply(tasks.context)]);
    expect(a.attempt).toBe(1);
    expect(a.maxAttempts).toBe(3);
    expect(a.callId).not.toBe(b.callId);
    expect(['A', 'B']).toContain(a.env);
  });

  it('passes progress the task reports', async () => {
    await using pool = new RemotePool({ connection: redis.url, name });
    const seen: unknown[] = [];
    expect(await pool.apply(tasks.progress, [5], { onProgress: (p) => seen.push(p) })).toBe(5);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.at(-1)).toEqual({ step: 5, of: 5 });
  });

  it('refuses what it cannot send, before sending', async () => {
    await using pool = new RemotePool({ connection: redis.url, name, maxPayload: 1000 });
    await expect(pool.apply(tasks.echo, ['x'.repeat(2000)])).rejects.toBeInstanceOf(PayloadTooLargeError);
    await expect(pool.apply(tasks.echo, [() => 1])).rejects.toThrow(/args\[0\]/);
    // biome-ignore lint/suspicious/noExplicitAny: an inline function is refused at run time too
    await expect(pool.apply(((x: number) => x) as any, [1])).rejects.toThrow(/sends no code/);
  });

  it('reports the workers it sees', async () => {
    await using pool = new RemotePool({ connection: redis.url, name });
    await pool.apply(tasks.noop);
    const s = pool.stats();
    expect(s.hosts.map((h) => h.size).sort()).toEqual([1, 2]);
    expect(s.completed).toBe(1);
    expect(pool.size).toBe(3);
  });
});
