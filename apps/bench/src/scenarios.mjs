// What is measured. A scenario groups cases; each case is one table: every subject that runs
// the case gives one figure in the case's unit, and is compared with the case's baseline.
//
// `params` are handed to each subject's run(opts) (with `n` scaled down under --smoke).
// `n` is the number of timed operations; `warmup` the number of untimed ones a subject does
// first inside the same run (each run starts fresh workers, so JIT warm-up happens per run).
// A subject whose operation is far faster may time `n * k` operations; it reports per operation.
//
// Units: 'µs' and 'ns' figures are per operation (lower is better); '/s' figures are
// throughputs (higher is better).

export const scenarios = [
  {
    name: 'pipe-pingpong',
    summary: 'round trip main thread ↔ one worker thread (send, the other side receives and sends it back, receive)',
    cases: [
      {
        id: 'small',
        title: 'payload { id, text }',
        unit: 'µs',
        per: 'round trip',
        better: 'lower',
        baseline: 'postMessage',
        params: { payload: 'small', n: 10000, warmup: 10000 },
      },
      {
        id: '64k',
        title: 'payload a 64 KiB Uint8Array (copied, not transferred)',
        unit: 'µs',
        per: 'round trip',
        better: 'lower',
        baseline: 'postMessage',
        params: { payload: 'bytes', n: 2000, warmup: 2000 },
      },
    ],
  },
  {
    name: 'queue-stream',
    summary: 'producers stream N messages to consumers as fast as they can; from "go" to the last message consumed',
    cases: [
      {
        id: '1x1',
        title: '1 producer thread → 1 consumer thread, { id, text }',
        unit: 'msgs/s',
        better: 'higher',
        baseline: 'MessagePort',
        params: { payload: 'small', producers: 1, consumers: 1, n: 400_000 },
      },
      {
        id: '4x4',
        title: '4 producer threads → 4 consumer threads, { id, text }, N in total',
        unit: 'msgs/s',
        better: 'higher',
        baseline: 'MessagePort',
        params: { payload: 'small', producers: 4, consumers: 4, n: 400_000 },
      },
      {
        id: '64k',
        title: '1 producer thread → 1 consumer thread, 64 KiB Uint8Array',
        unit: 'msgs/s',
        better: 'higher',
        baseline: 'MessagePort',
        params: { payload: 'bytes', producers: 1, consumers: 1, n: 20_000 },
      },
    ],
  },
  {
    name: 'lock',
    summary: 'acquire + release of a mutex, ns per pair',
    cases: [
      {
        id: 'uncontended',
        title: 'one thread acquires and releases in a loop',
        unit: 'ns',
        per: 'acquire+release',
        better: 'lower',
        baseline: 'Atomics mutex',
        params: { threads: 1, n: 500_000, warmup: 50_000 },
      },
      {
        id: 'contended',
        title: '2 threads (or processes) each loop acquire, counter++, release; total time / total pairs',
        unit: 'ns',
        per: 'acquire+release',
        better: 'lower',
        baseline: 'Atomics mutex',
        params: { threads: 2, n: 100_000, warmup: 10_000 },
      },
    ],
  },
  {
    name: 'pool',
    summary: 'a pool of 2 workers; tasks are submitted all at once, timed until every result is back (pool start-up not timed)',
    cases: [
      {
        id: 'apply',
        title: 'N no-op tasks, one submission each',
        unit: 'tasks/s',
        better: 'higher',
        baseline: 'piscina',
        params: { workers: 2, n: 6_000, warmup: 500 },
      },
      {
        id: 'map',
        title: 'map an identity function over N small ints',
        unit: 'items/s',
        better: 'higher',
        baseline: 'CPython Pool.map',
        params: { workers: 2, n: 200_000, warmup: 10_000 },
      },
      {
        id: 'cpu',
        title: 'N CPU-bound tasks of about 1 ms each (SHA-256 of 512 KiB), submitted at once',
        unit: 'tasks/s',
        better: 'higher',
        baseline: 'piscina',
        params: { workers: 2, n: 400, warmup: 20, bytes: 512 * 1024 },
      },
      {
        id: 'cpu-scaling',
        title: 'the same N tasks on 1 worker, then on 2: scaling efficiency = speed-up ÷ 2',
        unit: '% of linear',
        better: 'higher',
        baseline: 'piscina',
        params: { workers: 2, n: 400, warmup: 20, bytes: 512 * 1024 },
      },
    ],
  },
  {
    name: 'remote',
    summary:
      "a RemotePool (@threadkit/redis) beside plain BullMQ on the same redis-server (127.0.0.1, no persistence): one worker process each, BullMQ concurrency 50 in both, the caller in the harness's process",
    cases: [
      {
        id: 'apply',
        title: 'N no-op tasks submitted at once, each caller awaiting its answer',
        unit: 'tasks/s',
        better: 'higher',
        baseline: 'BullMQ, waitUntilFinished',
        params: { n: 2_000, warmup: 500 },
      },
      {
        id: 'map',
        title: 'x => x * 2 over N small ints, the results back at the caller',
        unit: 'items/s',
        better: 'higher',
        baseline: 'BullMQ, one job per item',
        // One BullMQ job per item runs over perItem items (200 000 would take a minute a run).
        params: { n: 200_000, warmup: 10_000, perItem: 20_000, perItemWarmup: 1_000 },
      },
      {
        id: 'roundtrip',
        title: 'N no-op calls one at a time, each awaited before the next: the median (p50) round trip of a run',
        unit: 'ms',
        per: 'round trip',
        better: 'lower',
        baseline: 'BullMQ, waitUntilFinished',
        params: { n: 500, warmup: 100 },
      },
      {
        id: 'failover',
        title: 'kill -9 of the worker process running a task: from the kill until the task has started again on the other one',
        unit: 'ms',
        per: 'failover',
        better: 'lower',
        baseline: 'BullMQ, lockDuration 1 s',
        params: { lease: 1_000 },
      },
    ],
  },
];
