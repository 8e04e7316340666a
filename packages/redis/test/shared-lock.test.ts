import { AbortError, InvalidStateError, TimeoutError } from '@threadkit/core';
import { RemoteEvent, RemoteLock } from '@threadkit/redis';
import { Redis } from 'ioredis';
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

function lock(name: string, lease = 10_000): RemoteLock {
  const l = new RemoteLock(name, { connection: redis.url, lease });
  open.push(l);
  return l;
}

function event(name: string, lease = 10_000): RemoteEvent {
  const e = new RemoteEvent(name, { connection: redis.url, lease });
  open.push(e);
  return e;
}

describe('RemoteLock', () => {
  it('acquires, tells it is locked, releases; each acquisition gets a larger fence; a released lock gives ownerDied false', async () => {
    const name = unique('lock');
    const a = lock(name);
    const b = lock(name);
    expect(await a.locked()).toBe(false);
    expect(await a.acquire()).toBe(true);
    expect(a.held).toBe(true);
    expect(a.ownerDied).toBe(false);
    expect(await b.locked()).toBe(true);
    const first = a.fence!;
    expect(first).toBeGreaterThan(0);
    await a.release();
    expect(a.held).toBe(false);
    expect(await b.locked()).toBe(false);
    expect(await b.acquire()).toBe(true);
    expect(b.fence).toBe(first + 1);
    expect(b.ownerDied).toBe(false);
    await b.release();
  });

  it('blocking: false and timeout give false while another handle holds it', async () => {
    const name = unique('lock');
    const a = lock(name);
    const b = lock(name);
    await a.acquire();
    expect(await b.acquire({ blocking: false })).toBe(false);
    const t0 = performance.now();
    expect(await b.acquire({ timeout: 150 })).toBe(false);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    expect(await b.acquire({ timeout: 0 })).toBe(false);
    await a.release();
    expect(await b.acquire({ timeout: 0 })).toBe(true);
    await b.release();
  });

  it('a waiter is woken by the release message, long before its lease/2 re-check', async () => {
    const name = unique('lock');
    const a = lock(name, 20_000);
    const b = lock(name, 20_000);
    await a.acquire();
    const waiting = b.acquire();
    // b is waiting once it has subscribed: then a releases.
    await new Promise((r) => setTimeout(r, 50));
    const t0 = performance.now();
    await a.release();
    expect(await waiting).toBe(true);
    expect(performance.now() - t0).toBeLessThan(5_000);
    await b.release();
  });

  it('an abort ends a wait with AbortError, and an aborted signal with blocking: false too', async () => {
    const name = unique('lock');
    const a = lock(name);
    const b = lock(name);
    await a.acquire();
    const ac = new AbortController();
    const waiting = b.acquire({ signal: ac.signal });
    setTimeout(() => ac.abort(new Error('enough')), 30);
    await expect(waiting).rejects.toThrow(AbortError);
    await expect(b.acquire({ signal: AbortSignal.abort(), blocking: false })).rejects.toThrow(/Cannot acquire RemoteLock ".*": aborted/);
    expect(b.held).toBe(false);
    await a.release();
  });

  it('release() of a lock this handle does not hold is an InvalidStateError', async () => {
    const name = unique('lock');
    const a = lock(name);
    const b = lock(name);
    await expect(a.release()).rejects.toThrow(InvalidStateError);
    await a.acquire();
    await expect(b.release()).rejects.toThrow(/not held by this handle/);
    await a.release();
    await expect(a.release()).rejects.toThrow(InvalidStateError);
  });

  it('withLock runs fn holding it and releases however fn ends; a timeout is a TimeoutError', async () => {
    const name = unique('lock');
    const a = lock(name);
    const b = lock(name);
    expect(await a.withLock(async () => ((await b.locked()) ? 'held' : 'free'))).toBe('held');
    expect(await b.locked()).toBe(false);
    await expect(
      a.withLock(() => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await b.locked()).toBe(false);
    await b.acquire();
    await expect(a.withLock(() => 1, { timeout: 20 })).rejects.toThrow(TimeoutError);
    await expect(a.withLock(() => 1, { blocking: false })).rejects.toThrow(/blocking: false/);
    await b.release();
    // @ts-expect-error not a function
    await expect(a.withLock(1)).rejects.toThrow(TypeError);
  });

  it('stays held past its lease while its holder lives (renewed every lease/3)', async () => {
    const name = unique('lock');
    const a = lock(name, 600);
    const b = lock(name, 600);
    await a.acquire();
    // b waits more than two leases: the lock must never be free meanwhile.
    expect(await b.acquire({ timeout: 1500 })).toBe(false);
    await a.release();
    expect(await b.acquire({ timeout: 1000 })).toBe(true);
    expect(b.ownerDied).toBe(false);
    await b.release();
  });

  it('a holder whose lease ran out and was taken over cannot release: InvalidStateError; one nobody took over releases quietly', async () => {
    const name = unique('lock');
    const a = lock(name);
    const b = lock(name);
    const raw = new Redis(redis.url);
    try {
      await a.acquire();
      // As if a's lease ran out (it stalled): the owner key is gone, its held marker stays.
      await raw.del(`threadkit:lock:{${name}}:owner`);
      expect(await b.acquire({ timeout: 1000 })).toBe(true);
      expect(b.ownerDied).toBe(true);
      await expect(a.release()).rejects.toThrow(/its lease ran out while held.* and another holder took it/);
      await b.release();
      await a.acquire();
      await raw.del(`threadkit:lock:{${name}}:owner`);
      await a.release();
      expect(await b.acquire({ blocking: false })).toBe(true);
      expect(b.ownerDied).toBe(false);
      await b.release();
    } finally {
      raw.disconnect();
    }
  });

  it('await using releases the lock and disconnects the handle; a disconnected handle refuses to work', async () => {
    const name = unique('lock');
    const other = lock(name);
    let kept: RemoteLock;
    {
      await using l = new RemoteLock(name, { connection: redis.url });
      kept = l;
      await l.acquire();
      expect(await other.locked()).toBe(true);
    }
    expect(await other.locked()).toBe(false);
    expect(kept.disconnected).toBe(true);
    await expect(kept.acquire()).rejects.toThrow(/disconnected/);
    await kept.close();
  });

  it('checks its options and arguments', async () => {
    expect(() => new RemoteLock('', { connection: redis.url })).toThrow(/Cannot create a RemoteLock: name must be a non-empty string/);
    // @ts-expect-error not a string
    expect(() => new RemoteLock(3)).toThrow(TypeError);
    expect(() => new RemoteLock('a{b}')).toThrow(/must not contain \{ or \}/);
    // @ts-expect-error unknown option
    expect(() => new RemoteLock('x', { leese: 100 })).toThrow(/unknown option "leese" \(did you mean "lease"\?\)/);
    expect(() => new RemoteLock('x', { lease: 50 })).toThrow(RangeError);
    expect(() => new RemoteLock('x', { lease: 1.5 })).toThrow(/lease must be an integer number of milliseconds from 100/);
    // @ts-expect-error not a number
    expect(() => new RemoteLock('x', { lease: '1000' })).toThrow(TypeError);
    expect(() => new RemoteLock('x', { connection: 'http://localhost' })).toThrow(/redis:\/\/ or rediss:\/\//);
    expect(() => new RemoteLock('x', { connectTimeout: 0 })).toThrow(RangeError);
    const l = lock(unique('lock'));
    await expect(l.acquire({ timeout: -1 })).rejects.toThrow(RangeError);
    // @ts-expect-error unknown option
    await expect(l.acquire({ timout: 5 })).rejects.toThrow(/did you mean "timeout"/);
    // @ts-expect-error not a signal
    await expect(l.acquire({ signal: 1 })).rejects.toThrow(/signal must be an AbortSignal/);
    // @ts-expect-error not a boolean
    await expect(l.acquire({ blocking: 'no' })).rejects.toThrow(/blocking must be a boolean/);
  });
});

describe('RemoteEvent', () => {
  it('set, isSet, clear, and wait that returns at once when set', async () => {
    const name = unique('event');
    const a = event(name);
    const b = event(name);
    expect(await b.isSet()).toBe(false);
    await a.set();
    expect(await b.isSet()).toBe(true);
    expect(await b.wait()).toBe(true);
    expect(await b.wait(0)).toBe(true);
    await b.clear();
    expect(await a.isSet()).toBe(false);
  });

  it('wait gives false on timeout (option or number), and AbortError on abort', async () => {
    const e = event(unique('event'));
    const t0 = performance.now();
    expect(await e.wait({ timeout: 120 })).toBe(false);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(110);
    expect(await e.wait(30)).toBe(false);
    expect(await e.wait({ timeout: 0 })).toBe(false);
    const ac = new AbortController();
    const waiting = e.wait({ signal: ac.signal });
    setTimeout(() => ac.abort(), 30);
    await expect(waiting).rejects.toThrow(AbortError);
    await expect(e.wait({ signal: AbortSignal.abort('stop') })).rejects.toThrow(/Cannot wait for RemoteEvent ".*": aborted: stop/);
  });

  it('set() on another handle wakes every waiter; a set() that a clear() followed still counts, as in Python', async () => {
    const name = unique('event');
    const setter = event(name, 20_000);
    const waiters = [event(name, 20_000), event(name, 20_000)];
    const waits = waiters.map((w) => w.wait({ timeout: 8_000 }));
    await new Promise((r) => setTimeout(r, 50));
    await setter.set();
    await setter.clear();
    expect(await Promise.all(waits)).toEqual([true, true]);
    expect(await setter.isSet()).toBe(false);
  });

  it('a wait does not hang when the wake-up message is lost: it re-checks every lease/2', async () => {
    const name = unique('event');
    const e = event(name, 400);
    const raw = new Redis(redis.url);
    try {
      const waiting = e.wait({ timeout: 10_000 });
      await new Promise((r) => setTimeout(r, 50));
      // Set without a message.
      await raw.set(`threadkit:event:{${name}}:flag`, '1');
      expect(await waiting).toBe(true);
    } finally {
      raw.disconnect();
    }
  });

  it('checks its wait options', async () => {
    const e = event(unique('event'));
    // @ts-expect-error not an option of wait
    await expect(e.wait({ blocking: false })).rejects.toThrow(/unknown option "blocking"/);
    await expect(e.wait(-5)).rejects.toThrow(RangeError);
  });
});
