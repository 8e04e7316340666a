// threadkit's Queue in the queue-stream scenario. This file is also the task module of the
// producer and consumer threads (top level free of side effects).
import { Barrier, Queue, Thread, taskModule } from '@threadkit/node';
import { maker } from '../lib/payloads.mjs';

/** Runs in a producer thread: `warmup` puts, the start barrier, then `count` puts. */
export async function produce(q, start, payload, warmup, count) {
  const make = maker(payload);
  for (let i = 0; i < warmup; i++) await q.put(make(i));
  await start.wait();
  for (let i = 0; i < count; i++) await q.put(make(i));
}

/** Runs in a consumer thread: takes `warmup` items, the start barrier, then exactly `count` items. */
export async function consume(q, start, warmup, count) {
  let sink = 0;
  for (let i = 0; i < warmup; i++) sink += (await q.get()).length ?? 1;
  await start.wait();
  for (let i = 0; i < count; i++) {
    const m = await q.get();
    sink += m.id ?? m.length;
  }
  return sink;
}

const tasks = taskModule(new URL(import.meta.url));

export default {
  name: 'threadkit Queue',
  scenario: 'queue-stream',
  order: 60,
  note: 'one unbounded `new Queue()` shared by all producer and consumer `Thread`s (`await q.put(m)`, `await q.get()`); consumers compete, each taking exactly N/consumers items; a `Barrier` starts the timed part after a warm-up',
  async run({ payload, producers, consumers, n, warmup }) {
    const per = producers * consumers;
    n = Math.max(per, Math.ceil(n / per) * per);
    warmup = Math.max(per, Math.ceil((warmup ?? n / 20) / per) * per);
    const q = new Queue();
    const start = new Barrier(producers + consumers + 1);
    const threads = [
      ...Array.from({ length: consumers }, () => new Thread({ target: tasks.consume, args: [q, start, warmup / consumers, n / consumers], daemon: true })),
      ...Array.from(
        { length: producers },
        () => new Thread({ target: tasks.produce, args: [q, start, payload, warmup / producers, n / producers], daemon: true }),
      ),
    ];
    for (const t of threads) t.start();
    try {
      await start.wait();
      const t0 = performance.now();
      await Promise.all(threads.slice(0, consumers).map((t) => t.result()));
      return { value: (n * 1000) / (performance.now() - t0), n };
    } finally {
      for (const t of threads) t.terminate();
    }
  },
};
