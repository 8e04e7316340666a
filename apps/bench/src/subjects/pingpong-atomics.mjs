import { sabPingpong } from '../lib/sab-pingpong.mjs';

export default {
  name: 'Atomics.wait/notify',
  scenario: 'pipe-pingpong',
  order: 30,
  note: 'one-slot SharedArrayBuffer channel, both sides block in `Atomics.wait` and wake with `Atomics.notify`; the payload is copied through the slot (`v8.serialize` for objects, a plain copy for bytes)',
  run: (opts) => sabPingpong({ ...opts, mode: 'wait', codec: 'payload' }),
};
