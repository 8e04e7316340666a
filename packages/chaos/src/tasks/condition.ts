/** Waiters for the condition scenario. */
import type { Condition, Event } from '@threadkit/node';
import { record } from '../log.js';

/**
 * Until `stop` is set: takes the condition's lock, logs `reg` (holding the lock, so once the main
 * thread holds it, a waiter whose last line is `reg` is surely waiting) and its id to `order`
 * (shared by all waiters: the order they began to wait in), waits, and logs `woke <what wait()
 * returned>` (still holding the lock) before letting it go.
 */
export async function waiter(cond: Condition, stop: Event, log: string, order: string, id: number): Promise<number> {
  let woke = 0;
  for (;;) {
    await cond.acquire();
    if (await stop.wait({ timeout: 0 })) {
      cond.release();
      return woke;
    }
    record(order, String(id));
    record(log, 'reg');
    const notified = await cond.wait();
    record(log, `woke ${notified}`);
    woke++;
    cond.release();
  }
}

/** Takes the lock, notifies `n` waiters, logs `notified`, and never lets go: the scenario kills it there. */
export async function notifyAndHang(cond: Condition, n: number, log: string): Promise<never> {
  await cond.acquire();
  cond.notify(n);
  record(log, 'notified');
  return new Promise<never>(() => {});
}
