// Baseline of pipe-pingpong: what every worker_threads program starts with.
import { startWorker } from '../lib/worker.mjs';
import { timedPingpong } from '../lib/pingpong.mjs';

export default {
  name: 'postMessage',
  scenario: 'pipe-pingpong',
  order: 10,
  note: '`worker.postMessage` → worker echoes with `parentPort.postMessage`; structured clone both ways',
  async run(opts) {
    const worker = await startWorker('echo.mjs');
    try {
      return await timedPingpong(worker, opts);
    } finally {
      await worker.terminate();
    }
  },
};
