// The main-thread side of the SharedArrayBuffer ping-pongs (see sab-channel.mjs).
import { startWorker } from './worker.mjs';
import { createChannelBuffer, openChannel, STOP } from './sab-channel.mjs';
import { maker } from './payloads.mjs';

/**
 * → µs per round trip over `n` timed round trips (after `warmup` untimed ones).
 * With `batches` > 1 the n round trips are timed in that many batches and the fastest batch is
 * the figure (`mean` over all of them is kept beside it): for the spinning subjects, whose
 * point is the floor, and which a single preemption of either spinning thread by another
 * process on a 2-core machine otherwise inflates a hundredfold. `budgetMs` stops the batches
 * early (after at least 3) once that much time has gone: a starved spinning pair can take
 * milliseconds per round trip.
 */
export async function sabPingpong({ mode, codec, payload, n, warmup, batches = 1, budgetMs = Infinity }) {
  const sab = createChannelBuffer();
  const ch = openChannel(sab, { mode, codec });
  const worker = await startWorker('sab-echo.mjs', { sab, mode, codec });
  const make = maker(payload);
  let seq = 0;
  const loop = (count) => {
    for (let i = 0; i < count; i++) {
      ch.write(make(i));
      ch.publish(++seq);
      seq = ch.waitChange(seq);
      ch.read();
    }
  };
  try {
    loop(warmup);
    const per = Math.max(1, Math.floor(n / batches));
    let best = Infinity;
    let total = 0;
    let done = 0;
    while (done < batches && (done < 3 || total < budgetMs)) {
      const t0 = performance.now();
      loop(per);
      const ms = performance.now() - t0;
      total += ms;
      best = Math.min(best, ms);
      done++;
    }
    const mean = (total * 1000) / (per * done);
    return batches === 1 ? mean : { value: (best * 1000) / per, mean: +mean.toPrecision(4), batches: done };
  } finally {
    ch.publish(STOP);
    await worker.terminate();
  }
}
