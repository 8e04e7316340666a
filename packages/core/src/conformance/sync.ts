/**
 * The conformance suite's synchronization section: Lock, RLock, Semaphore, BoundedSemaphore,
 * Event, Condition and Barrier, used from the main thread and from workers, on each transport.
 */
import {
  Barrier,
  BoundedSemaphore,
  BrokenBarrierError,
  Condition,
  Event,
  Lock,
  RLock,
  Semaphore,
  TimeoutError,
  taskModule,
  type Transport,
  type WorkerKind,
} from '../index.js';
import { PATIENCE_MS, kindName, sleepFor, spawner, tasks, underTransport, until } from './helpers.js';
import { deepEqual, equal, match, rejects, throws } from './assert.js';
import type { TestApi } from './index.js';

const faultTasks = taskModule<typeof import('./fixtures/fault-tasks.js')>(new URL('./fixtures/fault-tasks.js', import.meta.url));

/** Registers the synchronization tests for one worker kind on one transport. */
export function syncSuite(t: TestApi, kind: WorkerKind, transport: Transport): void {
  const Kind = kindName(kind);
  const spawn = spawner(kind);
  const under = underTransport(transport);

  t.describe(`Synchronization with a ${Kind}, ${transport} transport`, () => {
    t.it('Lock: a worker holds it, the main thread cannot take it until released', async () => {
      const [lock, held, letGo] = under(() => [new Lock(), new Event(), new Event()] as const);
      const w = spawn({ target: tasks.holdLock, args: [lock, held, letGo] });
      equal(await held.wait({ timeout: PATIENCE_MS }), true, 'the worker took it');
      equal(await lock.acquire({ blocking: false }), false, 'held elsewhere: a non-blocking acquire fails');
      equal(await lock.acquire({ timeout: 50 }), false, 'held elsewhere: a timed acquire times out');
      letGo.set();
      equal(await lock.acquire({ timeout: PATIENCE_MS }), true, 'taken once released');
      lock.release();
      equal(await w.result(), 'released');
    });

    t.it('Lock: release() when not held throws; bad options are refused with a clear error', async () => {
      const lock = under(() => new Lock());
      throws(() => lock.release(), Error, /Cannot release Lock: it is not held/);
      await rejects(lock.acquire({ timeout: -1 }), RangeError, /Cannot acquire Lock: timeout must be a number of milliseconds >= 0, got -1/);
      await rejects(lock.acquire({ timeout: Number.NaN }), RangeError, /got NaN/);
      await rejects(lock.acquire(5 as never), TypeError, /options must be an object/);
      const w = spawn({ target: tasks.releaseUnheld, args: [lock] });
      match(await w.result(), /Cannot release Lock: it is not held/);
    });

    t.it('Lock: withLock releases when the function throws; an aborted wait rejects with AbortError', async () => {
      const lock = under(() => new Lock());
      await rejects(
        lock.withLock(() => Promise.reject(new Error('inside'))),
        Error,
        /inside/,
      );
      equal(lock.locked(), false);
      await lock.acquire();
      const controller = new (globalThis as unknown as { AbortController: new () => { signal: never; abort(reason?: unknown): void } }).AbortController();
      const waiting = lock.acquire({ signal: controller.signal });
      controller.abort(new Error('stop waiting'));
      await rejects(waiting, Error, /aborted: stop waiting/);
      lock.release();
      equal(await lock.acquire({ blocking: false }), true, 'the aborted waiter did not take it');
      lock.release();
    });

    t.it(`Lock: a ${Kind.toLowerCase()} terminated while holding it does not take it to the grave`, async () => {
      const [lock, held] = under(() => [new Lock(), new Event()] as const);
      const w = spawn({ target: tasks.holdForever, args: [lock, held] });
      equal(await held.wait({ timeout: PATIENCE_MS }), true);
      equal(await lock.acquire({ timeout: 30 }), false);
      await w.terminate();
      equal(await lock.acquire({ timeout: PATIENCE_MS }), true, 'released when its holder died');
      equal(lock.ownerDied, true, 'the taker is told its holder died holding it');
      lock.release();
      await lock.acquire();
      equal(lock.ownerDied, false, 'only once');
      lock.release();
    });

    t.it('RLock: the holder may take it again; another thread may not release it', async () => {
      const rlock = under(() => new RLock());
      equal(await rlock.acquire(), true);
      equal(await rlock.acquire({ timeout: 0 }), true, 'reentrant');
      const w = spawn({ target: tasks.releaseUnheld, args: [rlock] });
      match(await w.result(), /Cannot release RLock: it is not held/);
      const other = spawn({ target: tasks.tryAcquire, args: [rlock, 50] });
      equal(await other.result(), false, 'held by the main thread');
      rlock.release();
      rlock.release();
      throws(() => rlock.release(), Error, /not held/);
      const last = spawn({ target: tasks.tryAcquire, args: [rlock, PATIENCE_MS] });
      equal(await last.result(), true, 'free once released as many times as taken');
    });

    t.it('Semaphore: at most value holders at once; BoundedSemaphore refuses an extra release', async () => {
      const [sem, a, b, letGo] = under(() => [new Semaphore(2), new Event(), new Event(), new Event()] as const);
      const first = spawn({ target: tasks.holdPermit, args: [sem, a, letGo] });
      const second = spawn({ target: tasks.holdPermit, args: [sem, b, letGo] });
      equal(await a.wait({ timeout: PATIENCE_MS }), true, 'the first holder took a permit');
      equal(await b.wait({ timeout: PATIENCE_MS }), true, 'the second holder took a permit');
      equal(await sem.acquire({ blocking: false }), false, 'both permits are out');
      letGo.set();
      equal(await sem.acquire({ timeout: PATIENCE_MS }), true, 'one comes back');
      sem.release();
      await Promise.all([first.join(), second.join()]);
      equal(sem.value, 2);
      const bounded = under(() => new BoundedSemaphore(1));
      throws(() => bounded.release(), RangeError, /released too many times/);
      throws(() => new Semaphore(-1), RangeError, /value must be an integer from 0 and up, got `-1`/);
    });

    for (const Sem of [Semaphore, BoundedSemaphore]) {
      t.it(`${Sem.name}: permits held by a ${Kind.toLowerCase()} that dies come back, and the next taker is told`, async () => {
        const [sem, held] = under(() => [new Sem(3), new Event()] as const);
        const holder = spawn({ target: faultTasks.holdPermits, args: [sem, 2, held] });
        equal(await held.wait({ timeout: PATIENCE_MS }), true, 'the holder took two permits');
        equal(sem.value, 1);
        await holder.terminate();
        equal(sem.value, 3, "the dead holder's permits came back");
        const taker = spawn({ target: faultTasks.acquireAndTell, args: [sem, PATIENCE_MS] });
        deepEqual(await taker.result(), [true, true], 'the next taker took one and was told it came from a dead holder');
        // The taker ended holding its permit: that one comes back too.
        equal(sem.value, 3);
        equal(await sem.acquire({ blocking: false }), true);
        equal(sem.ownerDied, true, 'a permit that came back is still flagged for the next taker here');
        sem.release();
      });

      t.it(`${Sem.name}: a ${Kind.toLowerCase()} that gave its permits back gives nothing more when it dies`, async () => {
        const [sem, done] = under(() => [new Sem(2), new Event()] as const);
        const worker = spawn({ target: faultTasks.takeAndGiveBack, args: [sem, 2, done] });
        equal(await done.wait({ timeout: PATIENCE_MS }), true);
        await worker.terminate();
        equal(sem.value, 2, 'no permit counted twice');
        equal(await sem.acquire({ blocking: false }), true);
        equal(sem.ownerDied, false, 'nothing came back from the dead');
        sem.release();
      });
    }

    t.it(`Semaphore({ robust: false }): permits held by a ${Kind.toLowerCase()} that dies stay taken, as in Python`, async () => {
      const [sem, held] = under(() => [new Semaphore(2, { robust: false }), new Event()] as const);
      const holder = spawn({ target: faultTasks.holdPermits, args: [sem, 1, held] });
      equal(await held.wait({ timeout: PATIENCE_MS }), true);
      await holder.terminate();
      equal(sem.value, 1, 'a semaphore that counts events does not hand back what a consumer took');
    });

    t.it('Event: set() in the main thread wakes a waiting worker; wait(timeout) resolves false', async () => {
      const [event, waiting] = under(() => [new Event(), new Semaphore(0)] as const);
      const late = spawn({ target: tasks.waitEvent, args: [event, 50] });
      equal(await late.result(), false, 'timed out');
      const w = spawn({ target: tasks.waitEventBegun, args: [event, waiting] });
      equal(await waiting.acquire({ timeout: PATIENCE_MS }), true, 'the worker has begun to wait');
      equal(w.isAlive(), true, 'still waiting');
      event.set();
      equal(await w.result(), true);
      equal(event.isSet(), true);
      const setter = spawn({ target: tasks.setEvent, args: [under(() => new Event())] });
      await setter.join();
      event.clear();
      equal(event.isSet(), false);
    });

    t.it('Event: a set() followed at once by clear() still wakes a waiter, as in Python', async () => {
      const [event, waiting] = under(() => [new Event(), new Semaphore(0)] as const);
      const w = spawn({ target: tasks.waitEventSignalled, args: [event, waiting, 60_000] });
      // The worker says it is about to wait, but nothing outside can see it asleep: set and clear
      // until it returns. Only a set() that woke it can make it return, and it must return true,
      // though the flag was cleared again at once (a broken Event waits on, or returns false).
      await waiting.acquire();
      let done = false;
      const result = w.result().finally(() => (done = true));
      while (!done) {
        event.set();
        event.clear();
        await sleepFor(20);
      }
      equal(await result, true);
    });

    t.it(`Lock: a ${Kind.toLowerCase()} that dies while waiting for it does not take it`, async () => {
      const [lock, waiting] = under(() => [new Lock(), new Semaphore(0)] as const);
      await lock.acquire();
      const waiter = spawn({ target: faultTasks.tryAcquireSignalled, args: [lock, waiting, 60_000] });
      equal(await waiting.acquire({ timeout: PATIENCE_MS }), true, 'the waiter is about to wait');
      await waiter.terminate();
      lock.release();
      equal(await lock.acquire({ timeout: PATIENCE_MS }), true, 'free for the living');
      lock.release();
    });

    t.it(`Condition: a waiter whose ${Kind.toLowerCase()} died is skipped by notify, and does not keep the lock`, async () => {
      const [cond, waiting] = under(() => [new Condition(), new Semaphore(0)] as const);
      // Each waiter is terminated as it begins to wait: before, while or after it takes its place
      // and lets go of the lock. A thread can run on briefly after it was terminated (a Deno Web
      // Worker does), and then took its place or the lock back after its death was dealt with
      // (3 rounds in 100 under Deno at a load of 8): more rounds give that race more chances.
      const rounds = kind === 'thread' ? 6 : 1;
      const workers: { terminate(): Promise<void> }[] = [];
      try {
        for (let i = 0; i < rounds; i++) {
          const dead = spawn({ target: tasks.conditionWait, args: [cond, waiting, 60_000] });
          workers.push(dead);
          equal(await waiting.acquire({ timeout: PATIENCE_MS }), true, `waiter ${i + 1} took the lock`);
          await dead.terminate();
          equal(await cond.acquire({ timeout: PATIENCE_MS }), true, 'the lock is free');
          cond.release();
        }
        const live = spawn({ target: tasks.conditionWait, args: [cond, waiting, PATIENCE_MS] });
        workers.push(live);
        equal(await waiting.acquire({ timeout: PATIENCE_MS }), true, 'the living waiter took the lock');
        await cond.withLock(() => cond.notify(1), { timeout: PATIENCE_MS });
        equal(await live.result(), true, 'the living waiter was notified');
      } finally {
        await Promise.all(workers.map((w) => w.terminate()));
      }
    });

    // A notify must reach a living waiter however the death of another waiter and the notify are
    // ordered: after the death is known, after it was asked for, or just before it. (The lock is
    // held until the death is known, so the dying waiter cannot have taken the notification: a
    // waiter that took one and then died has had it.)
    for (const order of ['after the death is known', 'after the death was asked for', 'just before the death'] as const) {
      t.it(`Condition: notify(1) ${order} of a waiting ${Kind.toLowerCase()} reaches the living waiter`, async () => {
        const [cond, waiting] = under(() => [new Condition(), new Semaphore(0)] as const);
        const dying = spawn({ target: tasks.conditionWait, args: [cond, waiting, 120_000] });
        equal(await waiting.acquire({ timeout: PATIENCE_MS }), true, 'the first waiter took the lock');
        const living = spawn({ target: tasks.conditionWait, args: [cond, waiting, PATIENCE_MS] });
        equal(await waiting.acquire({ timeout: PATIENCE_MS }), true, 'the second waiter took the lock');
        try {
          // Taking the lock here means both have let it go inside wait(): both wait, the dying one first.
          equal(await cond.acquire({ timeout: PATIENCE_MS }), true);
          cond.release();
          if (order === 'after the death is known') {
            await dying.terminate();
            await cond.withLock(() => cond.notify(1));
          } else if (order === 'after the death was asked for') {
            await cond.withLock(async () => {
              const gone = dying.terminate();
              cond.notify(1);
              await gone;
            });
          } else {
            await cond.withLock(async () => {
              cond.notify(1);
              await dying.terminate();
            });
          }
          equal(await living.result(), true, 'the living waiter was notified, not timed out');
          equal(await cond.acquire({ timeout: PATIENCE_MS }), true, 'nobody kept the lock');
          cond.release();
        } finally {
          await Promise.all([dying.terminate(), living.terminate()]);
        }
      });
    }

    t.it('Condition: notify(1) wakes one waiter, notifyAll() the rest; wait() without the lock throws', async () => {
      const [cond, waiting] = under(() => [new Condition(), new Semaphore(0)] as const);
      const a = spawn({ target: tasks.conditionWait, args: [cond, waiting, PATIENCE_MS] });
      const b = spawn({ target: tasks.conditionWait, args: [cond, waiting, PATIENCE_MS] });
      await waiting.acquire();
      await waiting.acquire();
      // Both hold then release the lock inside wait(): taking it here means both wait.
      await cond.withLock(() => cond.notify(1));
      // One ends (however long a loaded machine takes); the other, not woken, must still wait.
      const first = await Promise.race([a.result().then(() => a), b.result().then(() => b)]);
      await sleepFor(300);
      equal((first === a ? b : a).isAlive(), true, 'exactly one woke');
      await cond.withLock(() => cond.notifyAll());
      deepEqual(await Promise.all([a.result(), b.result()]), [true, true]);
      const unheld = spawn({ target: tasks.conditionWaitUnheld, args: [cond] });
      match(await unheld.result(), /its lock is not held by this thread/);
      await rejects(cond.wait(), Error, /its lock is not held/);
      throws(() => cond.notify(), Error, /its lock is not held/);
      await cond.acquire();
      equal(await cond.wait({ timeout: 20 }), false, 'nobody notifies: timed out');
      equal(await cond.waitFor(() => 42, 10), 42);
      cond.release();
    });

    t.it('Barrier: every party gets a distinct index; a timeout breaks it for all', async () => {
      const barrier = under(() => new Barrier(3));
      const parties = [0, 1].map(() => spawn({ target: tasks.barrierWait, args: [barrier] }));
      const mine = await barrier.wait({ timeout: PATIENCE_MS });
      const indices = [mine, ...(await Promise.all(parties.map((p) => p.result())))];
      deepEqual([...indices].sort(), [0, 1, 2]);
      const small = under(() => new Barrier(3));
      const lonely = spawn({ target: tasks.barrierWait, args: [small] });
      await until('the other party waits', () => small.nWaiting === 1);
      await rejects(small.wait({ timeout: 100 }), BrokenBarrierError, /timed out .* it is now broken/);
      equal(await lonely.result(), 'BrokenBarrierError');
      equal(small.broken, true);
      await rejects(small.wait(), BrokenBarrierError, /broken; reset\(\) it first/);
      small.reset();
      equal(small.broken, false);
      throws(() => new Barrier(0), RangeError, /parties must be an integer from 1 and up/);
    });

    t.it('Barrier: abort() breaks waiters in workers', async () => {
      const barrier = under(() => new Barrier(2));
      const w = spawn({ target: tasks.barrierWait, args: [barrier, PATIENCE_MS] });
      await until('the worker waits', () => barrier.nWaiting === 1);
      barrier.abort();
      equal(await w.result(), 'BrokenBarrierError');
    });

    t.it('withLock() times out with TimeoutError', async () => {
      const lock = under(() => new Lock());
      await lock.acquire();
      await rejects(
        lock.withLock(() => 1, { timeout: 20 }),
        TimeoutError,
        /timed out after 20 ms/,
      );
      lock.release();
    });
  });
}
