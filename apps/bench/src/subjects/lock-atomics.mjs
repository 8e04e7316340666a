import { AtomicsMutex } from '../lib/atomics-mutex.mjs';
import { startWorker, nextMessage, terminateAll } from '../lib/worker.mjs';

export default {
  name: 'Atomics mutex',
  scenario: 'lock',
  order: 10,
  note: 'reference futex mutex in ~20 lines (src/lib/atomics-mutex.mjs): `Atomics.compareExchange` fast path, 100 spins, then `Atomics.wait`/`notify`. Uncontended: main thread; contended: 2 worker threads',
  async run({ threads, n, warmup }) {
    const sab = new SharedArrayBuffer(64);
    const i32 = new Int32Array(sab);
    if (threads === 1) {
      const m = new AtomicsMutex(i32, 0);
      const loop = (count) => {
        for (let k = 0; k < count; k++) {
          m.lock();
          m.unlock();
        }
      };
      const N = n * 5; // far faster than the others: more pairs for a measurable time
      loop(warmup);
      const t0 = performance.now();
      loop(N);
      return ((performance.now() - t0) * 1e6) / N;
    }
    const workers = await Promise.all(Array.from({ length: threads }, () => startWorker('lock-loop.mjs', { sab, n, warmup })));
    try {
      const done = Promise.all(workers.map((w) => nextMessage(w, (m) => m === 'done')));
      const t0 = performance.now();
      for (const w of workers) w.postMessage('go');
      await done;
      const ms = performance.now() - t0;
      const expected = threads * (n + warmup);
      if (i32[1] !== expected) throw new Error(`mutual exclusion broken: counter ${i32[1]}, expected ${expected}`);
      return (ms * 1e6) / (threads * n);
    } finally {
      await terminateAll(workers);
    }
  },
};
