// Echoes every message back on the channel it came from.
// workerData.port: a MessagePort to echo on; absent → echo on parentPort (worker.postMessage).
import { parentPort, workerData } from 'node:worker_threads';

const port = workerData?.port ?? parentPort;
port.on('message', (m) => port.postMessage(m));
parentPort.postMessage('ready');
