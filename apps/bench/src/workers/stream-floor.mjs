// The producer loop of the queue-stream scenario with no transport at all: make the message,
// read its text as any encoder must (V8 flattens the template-literal string it is built from),
// and await a resolved promise, as `await q.put(m)` does at the least. Its rate bounds every
// transport whose producer awaits each put.
import { parentPort } from 'node:worker_threads';
import { maker } from '../lib/payloads.mjs';

const DONE = Promise.resolve();
let sink = 0;

function take(m) {
  sink += m.id + m.text.charCodeAt(m.text.length - 1);
  return DONE;
}

parentPort.on('message', async ({ n, warmup }) => {
  const make = maker('small');
  for (let i = 0; i < warmup; i++) await take(make(i));
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await take(make(i));
  parentPort.postMessage({ ms: performance.now() - t0, sink });
});
parentPort.postMessage('ready');
