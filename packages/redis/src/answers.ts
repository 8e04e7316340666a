/**
 * Sending answers: the frames of one microtask checkpoint go out in one pipelined write, one RPUSH
 * per results list, and a list gets its expiry on its first answer and then once a minute.
 * `push` resolves once the frame is on the list (a job completes only after its answers are).
 * A worker's main thread has one; so has each thread of its local pool that answers directly.
 */
import type { Redis } from 'ioredis';
import { RESULTS_TTL_S } from './protocol.js';

interface Batch {
  frames: Buffer[];
  waiters: { ok: () => void; fail: (error: unknown) => void }[];
}

export class AnswerSender {
  #outbox = new Map<string, Batch>();
  readonly #expiresSet = new Map<string, number>();

  constructor(readonly client: Redis) {}

  /** Puts `frame` on the results list `key`. */
  push(key: string, frame: Buffer): Promise<void> {
    return new Promise((ok, fail) => {
      let b = this.#outbox.get(key);
      if (!b) {
        if (this.#outbox.size === 0) queueMicrotask(() => this.#flush());
        b = { frames: [], waiters: [] };
        this.#outbox.set(key, b);
      }
      b.frames.push(frame);
      b.waiters.push({ ok, fail });
    });
  }

  #flush(): void {
    const batches = this.#outbox;
    this.#outbox = new Map();
    const pipe = this.client.pipeline();
    const now = Date.now();
    for (const [key, b] of batches) {
      pipe.rpush(key, ...b.frames);
      if (now - (this.#expiresSet.get(key) ?? 0) > 60_000) {
        pipe.expire(key, RESULTS_TTL_S);
        this.#expiresSet.set(key, now);
      }
    }
    if (this.#expiresSet.size > 10_000) for (const [key, at] of this.#expiresSet) if (now - at > 120_000) this.#expiresSet.delete(key);
    pipe.exec().then(
      (replies) => {
        const error = replies?.find(([e]) => e)?.[0];
        for (const b of batches.values()) for (const w of b.waiters) error ? w.fail(error) : w.ok();
      },
      (error: unknown) => {
        for (const b of batches.values()) for (const w of b.waiters) w.fail(error);
      },
    );
  }
}
