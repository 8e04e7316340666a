// The floor of the queue-stream 1×1 case for any API whose producer awaits each put.
import { nextMessage, startWorker, terminateAll } from '../lib/worker.mjs';

export default {
  name: 'producer loop alone (floor)',
  scenario: 'queue-stream',
  cases: ['1x1'],
  order: 90,
  note: 'one worker runs the producer loop with no transport: make `{ id, text }`, read the text (V8 flattens the template-literal string, as any encoder must), `await` a resolved promise, as `await q.put(m)` does at the least. No queue can stream faster to a producer written this way',
  async run({ n, warmup }) {
    const worker = await startWorker('stream-floor.mjs');
    try {
      worker.postMessage({ n, warmup: warmup ?? Math.ceil(n / 20) });
      const { ms } = await nextMessage(worker, (m) => typeof m === 'object' && m !== null && 'ms' in m);
      return (n * 1000) / ms;
    } finally {
      await terminateAll([worker]);
    }
  },
};
