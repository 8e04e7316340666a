// MessagePort streams between producer and consumer worker threads.
import { MessageChannel } from 'node:worker_threads';
import { startWorker, nextMessage, terminateAll } from './worker.mjs';

/**
 * topology 'direct': each producer has a MessageChannel to each consumer and posts round-robin
 *   over them (1×1: one channel). Each consumer receives exactly n / consumers messages.
 * topology 'broker': each producer posts to one port whose other end is in the main thread,
 *   which forwards every message round-robin to the consumers (two hops, the main thread in the middle).
 * → messages per second, from 'go' to the last consumer's 'done'.
 */
export async function streamThroughput({ producers = 1, consumers = 1, n, warmup, payload, topology = 'direct', transfer = false }) {
  const per = producers * consumers;
  n = Math.max(per, Math.ceil(n / per) * per);
  warmup = warmup ? Math.max(per, Math.ceil(warmup / per) * per) : Math.max(per, Math.ceil(n / 20 / per) * per);
  const consumerPorts = Array.from({ length: consumers }, () => []);
  const producerPorts = Array.from({ length: producers }, () => []);
  const brokerIn = [];
  const brokerOut = [];
  if (topology === 'direct') {
    for (let p = 0; p < producers; p++)
      for (let c = 0; c < consumers; c++) {
        const { port1, port2 } = new MessageChannel();
        producerPorts[p].push(port1);
        consumerPorts[c].push(port2);
      }
  } else {
    for (let p = 0; p < producers; p++) {
      const { port1, port2 } = new MessageChannel();
      producerPorts[p].push(port1);
      brokerIn.push(port2);
    }
    for (let c = 0; c < consumers; c++) {
      const { port1, port2 } = new MessageChannel();
      brokerOut.push(port1);
      consumerPorts[c].push(port2);
    }
    let k = 0;
    const forward = (m) => {
      brokerOut[k].postMessage(m);
      k = (k + 1) % consumers;
    };
    for (const port of brokerIn) port.on('message', forward);
  }
  const cs = await Promise.all(consumerPorts.map((ports) => startWorker('stream-consumer.mjs', { ports }, ports)));
  const ps = await Promise.all(producerPorts.map((ports) => startWorker('stream-producer.mjs', { ports, payload, transfer }, ports)));
  const round = async (total) => {
    await Promise.all(
      cs.map((w) => {
        const armed = nextMessage(w, (m) => m === 'armed');
        w.postMessage({ expect: total / consumers });
        return armed;
      }),
    );
    const done = Promise.all(cs.map((w) => nextMessage(w, (m) => m === 'done')));
    const t0 = performance.now();
    for (const w of ps) w.postMessage({ go: total / producers });
    await done;
    return performance.now() - t0;
  };
  try {
    await round(warmup);
    const ms = await round(n);
    return { value: (n * 1000) / ms, n };
  } finally {
    for (const port of [...brokerIn, ...brokerOut]) port.close();
    await terminateAll([...ps, ...cs]);
  }
}
