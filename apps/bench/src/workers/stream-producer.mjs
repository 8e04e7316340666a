// Stream producer: on each { go: count } from the parent, posts `count` messages round-robin
// over its ports (one port: a plain stream), as fast as it can.
// workerData: { ports: MessagePort[], payload: 'small' | 'bytes', transfer?: boolean }
import { parentPort, workerData } from 'node:worker_threads';
import { maker, BYTES } from '../lib/payloads.mjs';

const { ports, payload, transfer } = workerData;
const make = maker(payload);
const k = ports.length;

parentPort.on('message', ({ go }) => {
  if (transfer) {
    for (let i = 0; i < go; i++) {
      const u = new Uint8Array(BYTES); // a fresh buffer each time: a transferred one is gone
      u[0] = i & 255;
      ports[i % k].postMessage(u, [u.buffer]);
    }
  } else {
    for (let i = 0; i < go; i++) ports[i % k].postMessage(make(i));
  }
});
parentPort.postMessage('ready');
