// threadkit's Pipe in the pipe-pingpong scenario. This file is also the task module: the
// worker imports it and runs `echo`, so its top level must stay free of side effects.
import { Pipe, Thread, taskModule } from '@threadkit/node';
import { maker } from '../lib/payloads.mjs';

/** Runs in the worker: sends every message back until it receives null. */
export async function echo(end) {
  for (;;) {
    const m = await end.recv();
    if (m === null) return;
    end.send(m);
  }
}

const tasks = taskModule(new URL(import.meta.url));

export default {
  name: 'threadkit Pipe',
  scenario: 'pipe-pingpong',
  order: 60,
  note: '`Pipe({ duplex: true })`, one end passed in `args` to a `Thread` running `echo` (`await end.recv()`, `end.send(m)`); `a.send(m); await a.recv()` in the main thread',
  async run({ payload, n, warmup }) {
    const [a, b] = Pipe({ duplex: true });
    const t = new Thread({ target: tasks.echo, args: [b], daemon: true });
    t.start();
    const make = maker(payload);
    const loop = async (count) => {
      for (let i = 0; i < count; i++) {
        a.send(make(i));
        await a.recv();
      }
    };
    try {
      await loop(warmup);
      const t0 = performance.now();
      await loop(n);
      return ((performance.now() - t0) * 1000) / n;
    } finally {
      a.send(null);
      await t.join(5000);
      t.terminate();
    }
  },
};
