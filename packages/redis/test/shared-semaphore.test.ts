import { AbortError, InvalidStateError, TimeoutError } from '@threadkit/core';
import { RemoteBoundedSemaphore, RemoteSemaphore } from '@threadkit/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, redisForTests } from './redis-server.js';
import { unique } from './shared-helpers.js';

let redis: RedisServer;
const open: { disconnect(): Promise<void> }[] = [];
beforeAll(async () => {
  redis = await redisForTests();
});
afterAll(async () => {
  await Promise.all(open.map((o) => o.disconnect()));
  await redis.stop();
});

function sem(name: string, value: number, lease = 10_000, Class = RemoteSemaphore): RemoteSemaphore {
  const s = new Class(name, value, { connection: redis.url, lease });
  open.push(s);
  return s;
}

describe('RemoteSemaphore', () => {
  it('gives out value permits across handles, then none until one is released', async () => {
    const name = unique('sem');
    const a = sem(name, 2);
    const b = sem(name, 2);
    expect(await a.value()).toBe(2);
    expect(await a.acquire()).toBe(true);
    expect(await b.acquire()).toBe(true);
    expect(a.held).toBe(1);
    expect(await b.value()).toBe(0);
    expect(await a.acquire({ blocking: false })).toBe(false);
    expect(await a.acquire({ timeout: 60 })).toBe(false);
    const waiting = a.acquire({ timeout: 8_000 });
    await b.release();
    expect(await waiting).toBe(true);
    expect(a.ownerDied).toBe(false);
    expect(a.held).toBe(2);
    await a.release(2);
    expect(await b.value()).toBe(2);
  });

  it('an abort ends a wait with AbortError; withLock holds a permit while fn runs and throws TimeoutError when none comes', async () => {
    const name = unique('sem');
    const a = sem(name, 1);
    const b = sem(name, 1);
    expect(await a.withLock(async () => b.value())).toBe(0);
    expect(await b.value()).toBe(1);
    await a.acquire();
    const ac = new AbortController();
    const waiting = b.acquire({ signal: ac.signal });
    setTimeout(() => ac.abort(), 30);
    await expect(waiting).rejects.toThrow(AbortError);
    await expect(b.withLock(() => 1, { timeout: 30 })).rejects.toThrow(TimeoutError);
    await expect(b.withLock(() => 1, { blocking: false })).rejects.toThrow(/no permit is free/);
    await a.release();
    expect(await b.value()).toBe(1);
  });

  it('a plain semaphore takes releases beyond its value (they add permits); a bounded one throws RangeError', async () => {
    const plain = sem(unique('sem'), 1);
    await plain.release();
    expect(await plain.value()).toBe(2);
    const name = unique('bsem');
    const bounded = sem(name, 1, 10_000, RemoteBoundedSemaphore);
    await expect(bounded.release()).rejects.toThrow(RangeError);
    await expect(bounded.release()).rejects.toThrow(/released too many times \(value 1 \+ 1 would exceed its initial value 1\)/);
    await bounded.acquire();
    await bounded.release();
    expect(await bounded.value()).toBe(1);
  });

  it('permits held past the lease stay held while the holder lives; disconnect gives them back', async () => {
    const name = unique('sem');
    const a = sem(name, 1, 600);
    const b = sem(name, 1, 600);
    await a.acquire();
    expect(await b.acquire({ timeout: 1500 })).toBe(false);
    await a.disconnect();
    expect(await b.acquire({ timeout: 1000 })).toBe(true);
    expect(b.ownerDied).toBe(false);
    await b.release();
  });

  it('await using gives back the permits of the handle', async () => {
    const name = unique('sem');
    const other = sem(name, 2);
    {
      await using s = new RemoteSemaphore(name, 2, { connection: redis.url });
      await s.acquire();
      await s.acquire();
      expect(await other.value()).toBe(0);
    }
    expect(await other.value()).toBe(2);
  });

  it('every handle of a name must agree on value and class; checks its arguments', async () => {
    const name = unique('sem');
    await sem(name, 2).acquire();
    await expect(sem(name, 3).acquire()).rejects.toThrow(/created with value 2 elsewhere, and this handle says 3/);
    await expect(sem(name, 2, 10_000, RemoteBoundedSemaphore).value()).rejects.toThrow(InvalidStateError);
    expect(() => new RemoteSemaphore('x', -1)).toThrow(/Cannot create a RemoteSemaphore: value must be an integer from 0/);
    // @ts-expect-error not a number
    expect(() => new RemoteSemaphore('x', '2')).toThrow(TypeError);
    // @ts-expect-error unknown option
    expect(() => new RemoteBoundedSemaphore('x', 1, { robust: false })).toThrow(/Cannot create a RemoteBoundedSemaphore: unknown option "robust"/);
    const s = sem(unique('sem'), 1);
    await expect(s.release(0)).rejects.toThrow(/n must be an integer from 1/);
    await expect(s.acquire({ timeout: -1 })).rejects.toThrow(RangeError);
  });
});
