import { AbortError, DataCloneError, InvalidStateError, QueueClosedError, QueueEmptyError, QueueFullError, TimeoutError } from '@threadkit/core';
import { Encoder } from '@threadkit/core/codec';
import { RemoteJoinableQueue, RemoteQueue, type RemoteQueueOptions } from '@threadkit/redis';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, redisForTests } from './redis-server.js';
import { unique } from './shared-helpers.js';

let redis: RedisServer;
let raw: Redis;
const open: { disconnect(): Promise<void> }[] = [];
beforeAll(async () => {
  redis = await redisForTests();
  raw = new Redis(redis.url);
});
afterAll(async () => {
  await Promise.all(open.map((o) => o.disconnect()));
  raw.disconnect();
  await redis.stop();
});

function queue<T>(name: string, options: RemoteQueueOptions = {}): RemoteQueue<T> {
  const q = new RemoteQueue<T>(name, { connection: redis.url, ...options });
  open.push(q);
  return q;
}

function joinable<T>(name: string, options: RemoteQueueOptions = {}): RemoteJoinableQueue<T> {
  const q = new RemoteJoinableQueue<T>(name, { connection: redis.url, ...options });
  open.push(q);
  return q;
}

describe('RemoteQueue', () => {
  it('is FIFO across handles, and tells its size', async () => {
    const name = unique('q');
    const p = queue<number>(name);
    const c = queue<number>(name);
    expect(await c.empty()).toBe(true);
    for (let i = 0; i < 5; i++) await p.put(i);
    expect(await c.qsize()).toBe(5);
    expect(await c.full()).toBe(false);
    const got = [];
    for (let i = 0; i < 5; i++) got.push(await c.get());
    expect(got).toEqual([0, 1, 2, 3, 4]);
    expect(await p.empty()).toBe(true);
    expect(p.maxsize).toBe(0);
  });

  it("items go through core's codec: Map, Set, Date, BigInt, typed arrays, errors, undefined, cycles", async () => {
    const name = unique('q');
    const q = queue<unknown>(name);
    const cyclic: { self?: unknown; n: number } = { n: 1 };
    cyclic.self = cyclic;
    const error = new RangeError('bad');
    const items = [
      new Map<unknown, unknown>([
        ['a', 1],
        [2, new Set([3])],
      ]),
      new Date(1_700_000_000_000),
      2n ** 70n,
      new Float64Array([1.5, -2]),
      new Uint8Array([1, 2, 3]),
      undefined,
      null,
      'text ✓',
      cyclic,
    ];
    for (const item of items) await q.put(item);
    await q.put(error);
    for (const item of items.slice(0, -1)) expect(await q.get()).toEqual(item);
    const back = (await q.get()) as typeof cyclic;
    expect(back.self).toBe(back);
    const e = (await q.get()) as Error;
    expect(e).toBeInstanceOf(RangeError);
    expect(e.message).toBe('bad');
  });

  it('refuses what cannot be encoded with DataCloneError naming the part, before it touches Redis', async () => {
    const q = queue<unknown>(unique('q'));
    await expect(q.put({ cb: () => 1 })).rejects.toThrow(DataCloneError);
    await expect(q.put({ cb: () => 1 })).rejects.toThrow(/item\.cb/);
    await expect(q.put(new Uint8Array(new SharedArrayBuffer(8)))).rejects.toThrow(/SharedArrayBuffer/);
    expect(await q.qsize()).toBe(0);
  });

  it('maxsize: putNowait throws QueueFullError, put waits for room, getNowait throws QueueEmptyError', async () => {
    const name = unique('q');
    const p = queue<number>(name, { maxsize: 2 });
    const c = queue<number>(name, { maxsize: 2 });
    await expect(c.getNowait()).rejects.toThrow(QueueEmptyError);
    await p.putNowait(1);
    await p.put(2);
    expect(await p.full()).toBe(true);
    await expect(p.putNowait(3)).rejects.toThrow(QueueFullError);
    await expect(p.put(3, { block: false })).rejects.toThrow(/it is full \(maxsize 2\)/);
    const t0 = performance.now();
    await expect(p.put(3, { timeout: 100 })).rejects.toThrow(/full \(maxsize 2\) after waiting 100 ms/);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(90);
    const putting = p.put(3);
    expect(await c.get()).toBe(1);
    await putting;
    expect(await c.getNowait()).toBe(2);
    expect(await c.get({ timeout: 1000 })).toBe(3);
    expect(await c.empty()).toBe(true);
  });

  it('get times out with QueueEmptyError, is woken by a put on another handle, and aborts with AbortError', async () => {
    const name = unique('q');
    const p = queue<string>(name, { lease: 20_000 });
    const c = queue<string>(name, { lease: 20_000 });
    const t0 = performance.now();
    await expect(c.get({ timeout: 100 })).rejects.toThrow(/empty after waiting 100 ms/);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(90);
    await expect(c.get({ block: false, timeout: 5_000 })).rejects.toThrow(QueueEmptyError);
    const getting = c.get();
    setTimeout(() => void p.put('hi'), 30);
    expect(await getting).toBe('hi');
    const ac = new AbortController();
    const waiting = c.get({ signal: ac.signal });
    setTimeout(() => ac.abort(), 30);
    await expect(waiting).rejects.toThrow(AbortError);
    const full = queue<string>(unique('q'), { maxsize: 1 });
    await full.put('x');
    await expect(full.put('y', { signal: AbortSignal.abort() })).rejects.toThrow(/Cannot put on RemoteQueue ".*": aborted/);
  });

  it('a get does not hang when the wake-up message is lost: it re-checks every lease/2', async () => {
    const name = unique('q');
    const c = queue<string>(name, { lease: 400 });
    const getting = c.get({ timeout: 10_000 });
    await new Promise((r) => setTimeout(r, 50));
    // An item pushed without a message.
    await raw.rpush(`threadkit:q:{${name}}:items`, Buffer.from(new Encoder().encode('quiet', 'item')));
    expect(await getting).toBe('quiet');
  });

  it('close(): put throws QueueClosedError, get drains what is left then throws it, for await ends', async () => {
    const name = unique('q');
    const p = queue<number>(name);
    const c = queue<number>(name);
    await p.put(1);
    await p.put(2);
    expect(await c.closed()).toBe(false);
    await p.close();
    expect(await c.closed()).toBe(true);
    await expect(p.put(3)).rejects.toThrow(QueueClosedError);
    await expect(p.put(3)).rejects.toThrow(/it is closed$/);
    expect(await c.get()).toBe(1);
    const rest = [];
    for await (const item of c) rest.push(item);
    expect(rest).toEqual([2]);
    await expect(c.get()).rejects.toThrow(/closed and empty/);
    await expect(c.getNowait()).rejects.toThrow(QueueClosedError);
  });

  it('close() wakes a waiting get, which throws QueueClosedError', async () => {
    const name = unique('q');
    const c = queue<number>(name, { lease: 20_000 });
    const getting = c.get();
    setTimeout(() => void queue(name).close(), 30);
    await expect(getting).rejects.toThrow(QueueClosedError);
  });

  it("a plain queue's item stays in its consumer's processing list until that handle's next get or disconnect", async () => {
    const name = unique('q');
    const p = queue<number>(name);
    const c = queue<number>(name);
    await p.put(1);
    await p.put(2);
    expect(await c.get()).toBe(1);
    const procs = async (): Promise<number[]> => {
      const keys = await raw.keys(`threadkit:q:{${name}}:proc:*`);
      return Promise.all(keys.map((k) => raw.llen(k)));
    };
    expect(await procs()).toEqual([1]);
    expect(await c.get()).toBe(2);
    expect(await procs()).toEqual([1]);
    await c.disconnect();
    expect(await procs()).toEqual([]);
    expect(await raw.scard(`threadkit:q:{${name}}:consumers`)).toBe(0);
    expect(await p.qsize()).toBe(0);
  });

  it('every handle of a name must agree on maxsize and class', async () => {
    const name = unique('q');
    await queue(name, { maxsize: 3 }).put(1);
    await expect(queue(name, { maxsize: 4 }).get()).rejects.toThrow(/created with maxsize 3 elsewhere, and this handle says 4/);
    await expect(queue(name, { maxsize: 4 }).get()).rejects.toThrow(InvalidStateError);
    await expect(joinable(name, { maxsize: 3 }).get()).rejects.toThrow(/created as a RemoteQueue elsewhere/);
  });

  it('checks its options and arguments', async () => {
    expect(() => new RemoteQueue('')).toThrow(/Cannot create a RemoteQueue: name must be a non-empty string/);
    expect(() => new RemoteQueue('x', { maxsize: -1 })).toThrow(/Cannot create a RemoteQueue: maxsize must be an integer >= 0 \(0 is unbounded\).*got `-1`/);
    expect(() => new RemoteQueue('x', { maxsize: 1.5 })).toThrow(RangeError);
    // @ts-expect-error not a number
    expect(() => new RemoteQueue('x', { maxsize: '3' })).toThrow(TypeError);
    // @ts-expect-error unknown option
    expect(() => new RemoteQueue('x', { maxSize: 3 })).toThrow(/unknown option "maxSize" \(did you mean "maxsize"\?\)/);
    expect(() => new RemoteJoinableQueue('x', { lease: 99 })).toThrow(/Cannot create a RemoteJoinableQueue: lease must be/);
    // @ts-expect-error not options
    expect(() => new RemoteQueue('x', 5)).toThrow(/options must be an object/);
    const q = queue<number>(unique('q'));
    // @ts-expect-error a lock's option
    await expect(q.get({ blocking: false })).rejects.toThrow(/unknown option "blocking" \(did you mean "block"\?\)/);
    // @ts-expect-error not a boolean
    await expect(q.put(1, { block: 0 })).rejects.toThrow(/block must be a boolean/);
    await expect(q.put(1, { timeout: Number.NaN })).rejects.toThrow(RangeError);
  });
});

describe('RemoteJoinableQueue', () => {
  it('join waits until every item put is marked done; taskDone acknowledges the oldest item this handle got', async () => {
    const name = unique('jq');
    const p = joinable<number>(name, { lease: 20_000 });
    const c = joinable<number>(name, { lease: 20_000 });
    await p.join({ timeout: 0 });
    await p.put(1);
    await p.put(2);
    await expect(p.join({ timeout: 50 })).rejects.toThrow(TimeoutError);
    await expect(p.join({ timeout: 50 })).rejects.toThrow(/2 items are still unfinished after 50 ms/);
    const joined = p.join({ timeout: 8_000 });
    expect(await c.get()).toBe(1);
    expect(await c.get()).toBe(2);
    const proc = `threadkit:q:{${name}}:proc:`;
    const lengths = async (): Promise<number[]> => Promise.all((await raw.keys(`${proc}*`)).map((k) => raw.llen(k)));
    expect(await lengths()).toEqual([2]);
    await c.taskDone();
    expect(await lengths()).toEqual([1]);
    await c.taskDone();
    await joined;
    expect(await lengths()).toEqual([]);
    await expect(c.taskDone()).rejects.toThrow(/Cannot call taskDone\(\) on RemoteJoinableQueue ".*": it was called more times than this handle got items/);
    const ac = new AbortController();
    await p.put(3);
    const waiting = p.join({ signal: ac.signal });
    ac.abort();
    await expect(waiting).rejects.toThrow(AbortError);
    // @ts-expect-error not an option of join
    await expect(p.join({ block: false })).rejects.toThrow(/unknown option/);
  });

  it('a consumer that disconnects gives back the items it did not mark done, to the head of the queue', async () => {
    const name = unique('jq');
    const p = joinable<number>(name);
    const c = joinable<number>(name);
    for (const i of [1, 2, 3]) await p.put(i);
    expect(await c.get()).toBe(1);
    expect(await c.get()).toBe(2);
    await c.disconnect();
    const d = joinable<number>(name);
    expect([await d.get(), await d.get(), await d.get()]).toEqual([1, 2, 3]);
    for (let i = 0; i < 3; i++) await d.taskDone();
    await p.join({ timeout: 1000 });
  });
});
