// Message ping-pong over anything with postMessage + on('message'): a Worker or a MessagePort.
import { maker } from './payloads.mjs';

/** Sends n messages one after the other, each after the previous echo came back; resolves with ms elapsed. */
export function pingpong(endpoint, n, make) {
  return new Promise((resolve) => {
    let i = 0;
    const onMessage = () => {
      if (++i === n) {
        const ms = performance.now() - t0;
        endpoint.off('message', onMessage);
        resolve(ms);
      } else endpoint.postMessage(make(i));
    };
    endpoint.on('message', onMessage);
    const t0 = performance.now();
    endpoint.postMessage(make(0));
  });
}

/** warm-up, then n timed round trips; → µs per round trip */
export async function timedPingpong(endpoint, { payload, n, warmup }) {
  const make = maker(payload);
  if (warmup) await pingpong(endpoint, warmup, make);
  const ms = await pingpong(endpoint, n, make);
  return (ms * 1000) / n;
}
