/**
 * Faults with real processes: a holder killed with SIGKILL gives back what it held once its lease
 * runs out (a lock and a permit with ownerDied, a consumer's items to the queue, nothing lost or
 * duplicated).
 */
import { QueueEmptyError } from '@threadkit/core';
import { RemoteJoinableQueue, RemoteLock, RemoteQueue, RemoteSemaphore } from '@threadkit/redis';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, redisForTests } from './redis-server.js';
import { spawnFixture, unique } from './shared-helpers.js';

const LEASE = 800;
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

function track<T extends { disconnect(): Promise<void> }>(o: T): T {
  open.push(o);
  return o;
}

describe('a holder killed with SIGKILL', () => {
  it('RemoteLock: the next taker acquires after the lease with ownerDied true and a larger fence; after a release, ownerDied is false', async () => {
    const name = unique('lock');
    const child = spawnFixture('holder.mjs', { kind: 'lock', url: redis.url, name, lease: LEASE });
    const held = await child.next((m) => m.acquired === true);
    const lock = track(new RemoteLock(name, { connection: redis.url, lease: LEASE }));
    expect(await lock.acquire({ blocking: false })).toBe(false);
    // Held past its lease while its holder lives.
    expect(await lock.acquire({ timeout: 2 * LEASE })).toBe(false);
    await child.kill();
    expect(await lock.acquire({ timeout: 10_000 })).toBe(true);
    expect(lock.ownerDied).toBe(true);
    expect(lock.fence).toBeGreaterThan(held.fence as number);
    await lock.release();
    expect(await lock.acquire({ timeout: 1000 })).toBe(true);
    expect(lock.ownerDied).toBe(false);
    await lock.release();
  });

  it('RemoteSemaphore: the permit comes back after the lease, and its taker sees ownerDied', async () => {
    const name = unique('sem');
    const child = spawnFixture('holder.mjs', { kind: 'sem', url: redis.url, name, lease: LEASE, value: 1 });
    await child.next((m) => m.acquired === true);
    const sem = track(new RemoteSemaphore(name, 1, { connection: redis.url, lease: LEASE }));
    expect(await sem.acquire({ timeout: 2 * LEASE })).toBe(false);
    await child.kill();
    expect(await sem.acquire({ timeout: 10_000 })).toBe(true);
    expect(sem.ownerDied).toBe(true);
    await sem.release();
    expect(await sem.acquire({ timeout: 1000 })).toBe(true);
    expect(sem.ownerDied).toBe(false);
    await sem.release();
    expect(await sem.value()).toBe(1);
  });

  it('RemoteJoinableQueue: the items a killed consumer got and never marked done come back; each is consumed once, join() ends', async () => {
    const name = unique('jq');
    const q = track(new RemoteJoinableQueue<number>(name, { connection: redis.url, lease: LEASE }));
    for (let i = 1; i <= 6; i++) await q.put(i);
    const child = spawnFixture('holder.mjs', { kind: 'jqueue', url: redis.url, name, lease: LEASE, count: 3 });
    const { got } = await child.next((m) => Array.isArray(m.got));
    expect(got).toEqual([1, 2, 3]);
    await child.kill();
    const seen: number[] = [];
    for (let i = 0; i < 6; i++) {
      seen.push(await q.get({ timeout: 10_000 }));
      await q.taskDone();
    }
    expect(seen.sort()).toEqual([1, 2, 3, 4, 5, 6]);
    await q.join({ timeout: 1000 });
    await expect(q.getNowait()).rejects.toThrow(QueueEmptyError);
    expect(await raw.scard(`threadkit:q:{${name}}:consumers`)).toBe(1);
  });

  it('RemoteQueue: the item a killed consumer was handling comes back to the head of the queue; nothing lost or duplicated', async () => {
    const name = unique('q');
    const q = track(new RemoteQueue<number>(name, { connection: redis.url, lease: LEASE }));
    for (let i = 1; i <= 4; i++) await q.put(i);
    const child = spawnFixture('holder.mjs', { kind: 'queue', url: redis.url, name, lease: LEASE, count: 2 });
    const { got } = await child.next((m) => Array.isArray(m.got));
    expect(got).toEqual([1, 2]);
    await child.kill();
    // 1 was acknowledged by the child's second get(); 2 was still being handled when it died.
    const seen = [];
    for (let i = 0; i < 3; i++) seen.push(await q.get({ timeout: 10_000 }));
    expect(seen.sort()).toEqual([2, 3, 4]);
    await expect(q.get({ timeout: 2 * LEASE })).rejects.toThrow(QueueEmptyError);
  });
});
