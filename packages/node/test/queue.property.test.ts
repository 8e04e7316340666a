// Under random interleavings of producers and consumers, in threads and processes, with random
// item sizes, pauses, queue bounds and get timeouts: every item put is got exactly once, and
// each consumer sees each producer's items in the order they were put.
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { Process, Queue, Thread, taskModule, useTransport, type Transport } from '@threadkit/node';
import { checkExactlyOnce } from '@threadkit/core/conformance';

const tasks = taskModule<typeof import('./fixtures/tasks.ts')>(new URL('./fixtures/tasks.ts', import.meta.url));

const scenario = fc.record({
  transport: fc.constantFrom<Transport>('shared', 'message'),
  maxsize: fc.integer({ min: 0, max: 4 }),
  bytes: fc.constantFrom(2048, 16_384, 262_208),
  producers: fc.array(
    fc.record({
      process: fc.boolean(),
      sizes: fc.array(fc.integer({ min: 0, max: 600 }), { minLength: 1, maxLength: 40 }),
      pauses: fc.array(fc.constantFrom(0, 0, 0, 1, 3), { minLength: 1, maxLength: 4 }),
    }),
    { minLength: 1, maxLength: 3 },
  ),
  consumers: fc.array(fc.record({ process: fc.boolean(), timeouts: fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 1, maxLength: 4 }) }), {
    minLength: 1,
    maxLength: 3,
  }),
});

describe('Queue under random interleavings', () => {
  it('delivers every item exactly once, in per-producer order', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        useTransport(s.transport);
        const q = new Queue<{ producer: number; seq: number; pad: string }>({ maxsize: s.maxsize, bytes: s.bytes });
        useTransport('auto');
        const producers = s.producers.map((p, i) => {
          const Kind = p.process ? Process : Thread;
          const w = new Kind({ target: tasks.produceSized, args: [q, i, p.sizes, p.pauses] });
          w.start();
          return w;
        });
        const consumers = s.consumers.map((c) => {
          const Kind = c.process ? Process : Thread;
          const w = new Kind({ target: tasks.consumeWithTimeouts, args: [q, c.timeouts] });
          w.start();
          return w;
        });
        await Promise.all(producers.map((p) => p.result()));
        q.close();
        const got = await Promise.all(consumers.map((c) => c.result()));
        const counts = s.producers.map((p) => p.sizes.length);
        // Every producer's items, each once, in order; and each item's payload intact.
        const expected = counts.reduce((a, b) => a + b, 0);
        const all = got.flat();
        if (all.length !== expected) throw new Error(`expected ${expected} items, got ${all.length}`);
        for (const item of all) {
          const size = s.producers[item.producer]!.sizes[item.seq];
          if (item.length !== size) throw new Error(`item ${item.producer}:${item.seq} arrived with ${item.length} bytes of padding, not ${size}`);
        }
        const padded = got.map((list) => list.map(({ producer, seq }) => ({ producer, seq })));
        // checkExactlyOnce wants the same count per producer: check per producer count separately.
        for (let p = 0; p < counts.length; p++) {
          const mine = padded.map((list) => list.filter((x) => x.producer === p));
          checkExactlyOnce(mine, 1, counts[p]!);
        }
      }),
      { numRuns: Number(process.env.TK_PROPERTY_RUNS ?? 12), interruptAfterTimeLimit: 90_000 },
    );
  }, 120_000);
});
