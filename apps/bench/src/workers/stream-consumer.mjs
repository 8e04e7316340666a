// Stream consumer: receives on all its ports; after { expect } from the parent (acknowledged
// with 'armed'), posts 'done' once that many messages have arrived.
// workerData: { ports: MessagePort[] }
import { parentPort, workerData } from 'node:worker_threads';

let expect = Infinity;
let count = 0;
let sink = 0;
const onMessage = (m) => {
  sink += m.id ?? m.length; // touch it, as a real consumer would
  if (++count === expect) parentPort.postMessage('done');
};
for (const port of workerData.ports) port.on('message', onMessage);
parentPort.on('message', (m) => {
  expect = m.expect;
  count = 0;
  parentPort.postMessage('armed');
});
parentPort.postMessage('ready');
process.on('exit', () => sink); // keep `sink` observable
