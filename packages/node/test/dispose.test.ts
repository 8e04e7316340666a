// `await using` releases a held Lock (or a Semaphore permit) when the scope ends, however it ends.
import { describe, expect, it } from 'vitest';
import { Lock, Semaphore } from '@threadkit/node';

describe('await using', () => {
  it('releases a held Lock at the end of the scope', async () => {
    const lock = new Lock();
    {
      await lock.acquire();
      await using _held = lock;
      expect(lock.locked()).toBe(true);
    }
    expect(lock.locked()).toBe(false);
  });

  it('releases it when the scope throws', async () => {
    const lock = new Lock();
    await expect(
      (async () => {
        await lock.acquire();
        await using _held = lock;
        throw new Error('inside');
      })(),
    ).rejects.toThrow('inside');
    expect(lock.locked()).toBe(false);
  });

  it('gives back a Semaphore permit', async () => {
    const sem = new Semaphore(1);
    {
      await sem.acquire();
      await using _permit = sem;
      expect(sem.value).toBe(0);
    }
    expect(sem.value).toBe(1);
  });
});
