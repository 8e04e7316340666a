// The worker side of the SharedArrayBuffer ping-pongs: wait for the main thread's message,
// read it, write it back, hand the turn back. Blocks this thread until told to stop.
import { parentPort, workerData } from 'node:worker_threads';
import { openChannel, STOP } from '../lib/sab-channel.mjs';

const ch = openChannel(workerData.sab, workerData);
parentPort.postMessage('ready');
let seq = 0;
for (;;) {
  seq = ch.waitChange(seq);
  if (seq === STOP) break;
  ch.write(ch.read());
  ch.publish(++seq);
}
