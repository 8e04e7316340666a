import { RedisConnectionError, RemoteEvent, RemoteLock, RemoteQueue, RemoteSemaphore } from '@threadkit/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type RedisServer, startRedis } from './redis-server.js';
import { unique } from './shared-helpers.js';

let redis: RedisServer;
const PASSWORD = 'right-horse-battery';
beforeAll(async () => {
  redis = await startRedis({ password: PASSWORD });
});
afterAll(async () => {
  await redis.stop();
});

describe('connections of the shared objects', () => {
  it('a wrong password is a RedisConnectionError with reason auth on the first call, without the password in the message', async () => {
    const wrong = 'wrong-staple-1234';
    const lock = new RemoteLock(unique('lock'), { connection: `redis://:${wrong}@127.0.0.1:${redis.port}` });
    const error = await lock.acquire().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RedisConnectionError);
    expect((error as RedisConnectionError).reason).toBe('auth');
    expect((error as Error).message).toMatch(/refused the credentials/);
    expect((error as Error).message).not.toContain(wrong);
    expect((error as Error).message).not.toContain(PASSWORD);
    // The next call tries again, and fails the same way.
    await expect(lock.acquire()).rejects.toThrow(RedisConnectionError);
    await lock.disconnect();
    const q = new RemoteQueue(unique('q'), { connection: { port: redis.port, password: wrong } });
    await expect(q.put(1)).rejects.toMatchObject({ name: 'RedisConnectionError', reason: 'auth' });
    await q.disconnect();
  });

  it('the right password works', async () => {
    const e = new RemoteEvent(unique('event'), { connection: redis.url });
    await e.set();
    expect(await e.wait({ timeout: 100 })).toBe(true);
    await e.disconnect();
  });

  it('an unreachable Redis is a RedisConnectionError with reason unreachable after connectTimeout, never a hang', async () => {
    const port = await freePort();
    const s = new RemoteSemaphore(unique('sem'), 1, { connection: `redis://127.0.0.1:${port}`, connectTimeout: 300 });
    const t0 = performance.now();
    await expect(s.acquire()).rejects.toMatchObject({ name: 'RedisConnectionError', reason: 'unreachable' });
    expect(performance.now() - t0).toBeLessThan(5_000);
    await expect(s.value()).rejects.toThrow(/did not answer within 300 ms/);
    await s.disconnect();
  });
});
