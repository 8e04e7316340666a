import { sabPingpong } from '../lib/sab-pingpong.mjs';

export default [
  {
    name: 'SAB spin',
    scenario: 'pipe-pingpong',
    order: 40,
    note: 'the same slot, both sides busy-wait on `Atomics.load` (two cores burnt); the payload copied as for Atomics.wait/notify. Figure: the fastest of 10 batches in each run (a spinning pair loses whole time slices whenever another process takes a core)',
    run: (opts) =>
      sabPingpong({ ...opts, n: opts.payload === 'small' ? opts.n : Math.ceil(opts.n / 2), mode: 'spin', codec: 'payload', batches: 10, budgetMs: 1000 }),
  },
  {
    name: 'SAB spin, no payload (floor)',
    scenario: 'pipe-pingpong',
    cases: ['small'],
    order: 45,
    note: 'busy-wait ping-pong of a sequence number only: the hardware floor (cache-line transfer between two cores); no data moves. Figure: the fastest of 20 batches, as for SAB spin',
    run: (opts) => sabPingpong({ ...opts, n: opts.n * 8, warmup: opts.warmup * 10, mode: 'spin', codec: 'none', batches: 20, budgetMs: 1000 }),
  },
];
