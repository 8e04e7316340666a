import { MessageChannel } from 'node:worker_threads';
import { startWorker } from '../lib/worker.mjs';
import { timedPingpong } from '../lib/pingpong.mjs';

export default {
  name: 'MessageChannel',
  scenario: 'pipe-pingpong',
  order: 20,
  note: 'a `MessageChannel` whose port2 was transferred to the worker; echo on the port pair',
  async run(opts) {
    const { port1, port2 } = new MessageChannel();
    const worker = await startWorker('echo.mjs', { port: port2 }, [port2]);
    try {
      return await timedPingpong(port1, opts);
    } finally {
      port1.close();
      await worker.terminate();
    }
  },
};
