// Contended-lock worker: warms up alone, says 'ready', then on 'go' loops
// lock(); counter++ (a plain, non-atomic increment: only the lock protects it); unlock().
// workerData: { sab, n, warmup }. Layout: Int32Array [0] = lock state, [1] = counter.
import { parentPort, workerData } from 'node:worker_threads';
import { AtomicsMutex } from '../lib/atomics-mutex.mjs';

const { sab, n, warmup } = workerData;
const i32 = new Int32Array(sab);
const m = new AtomicsMutex(i32, 0);
const loop = (count) => {
  for (let k = 0; k < count; k++) {
    m.lock();
    i32[1] = i32[1] + 1;
    m.unlock();
  }
};
loop(warmup);
parentPort.once('message', () => {
  loop(n);
  parentPort.postMessage('done');
});
parentPort.postMessage('ready');
