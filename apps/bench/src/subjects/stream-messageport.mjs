import { streamThroughput } from '../lib/stream.mjs';

export default [
  {
    name: 'MessagePort',
    scenario: 'queue-stream',
    order: 10,
    note: 'producer worker `postMessage`s into MessageChannel ports whose other ends are in the consumer workers; no flow control. 4×4: 16 channels, each producer posts round-robin to the 4 consumers, so each consumer gets exactly N/4 (a static split: an upper bound for a shared queue, not a queue). 64 KiB: the array is structured-cloned per message',
    run: (opts) => streamThroughput({ ...opts, topology: 'direct' }),
  },
  {
    name: 'MessagePort via main-thread broker',
    scenario: 'queue-stream',
    cases: ['4x4'],
    order: 20,
    note: 'each producer posts to one port read by the main thread, which forwards every message round-robin to the 4 consumers: the shape of a queue owned by one thread (two hops, one dispatcher)',
    run: (opts) => streamThroughput({ ...opts, topology: 'broker' }),
  },
  {
    name: 'MessagePort, transfer',
    scenario: 'queue-stream',
    cases: ['64k'],
    order: 30,
    note: 'the producer allocates a fresh 64 KiB Uint8Array per message and transfers its buffer (`postMessage(u, [u.buffer])`) instead of copying it',
    run: (opts) => streamThroughput({ ...opts, topology: 'direct', transfer: true }),
  },
];
