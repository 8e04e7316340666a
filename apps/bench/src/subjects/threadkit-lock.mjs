// threadkit's Lock in the lock scenario. This file is also the task module of the contending
// threads (top level free of side effects).
import { Barrier, Lock, Thread, taskModule } from '@threadkit/node';

/** Runs in each contending thread: warm up, meet at the barrier, then `n` × acquire, counter++, release. */
export async function contend(lock, start, counter, warmup, n) {
  const c = new Int32Array(counter);
  const loop = async (count) => {
    for (let k = 0; k < count; k++) {
      await lock.acquire();
      c[0] = c[0] + 1;
      lock.release();
    }
  };
  await loop(warmup);
  await start.wait();
  await loop(n);
}

const tasks = taskModule(new URL(import.meta.url));

export default {
  name: 'threadkit Lock',
  scenario: 'lock',
  order: 60,
  note: '`new Lock()`; `await lock.acquire(); lock.release()`. Uncontended: main thread; contended: 2 `Thread`s, counter in a SharedArrayBuffer passed in `args`',
  async run({ threads, n, warmup }) {
    const lock = new Lock();
    if (threads === 1) {
      const loop = async (count) => {
        for (let k = 0; k < count; k++) {
          await lock.acquire();
          lock.release();
        }
      };
      await loop(warmup);
      const t0 = performance.now();
      await loop(n);
      return ((performance.now() - t0) * 1e6) / n;
    }
    const counter = new SharedArrayBuffer(8);
    const start = new Barrier(threads + 1);
    const ts = Array.from({ length: threads }, () => new Thread({ target: tasks.contend, args: [lock, start, counter, warmup, n], daemon: true }));
    for (const t of ts) t.start();
    try {
      await start.wait();
      const t0 = performance.now();
      await Promise.all(ts.map((t) => t.result()));
      const ms = performance.now() - t0;
      const got = new Int32Array(counter)[0];
      if (got !== threads * (n + warmup)) throw new Error(`mutual exclusion broken: counter ${got}, expected ${threads * (n + warmup)}`);
      return (ms * 1e6) / (threads * n);
    } finally {
      for (const t of ts) t.terminate();
    }
  },
};
