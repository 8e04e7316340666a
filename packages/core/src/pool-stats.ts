/** The timing figures of `Pool.stats()`: percentiles over the most recent tasks. */

/** Percentiles of a duration, in milliseconds, over the last {@link SAMPLES} tasks (zeros before any). */
export interface Percentiles {
  /** How many tasks the figures cover. */
  readonly count: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/** How many of the most recent samples the percentiles cover. */
export const SAMPLES = 4096;

/** A ring of the last {@link SAMPLES} durations: recording is a store, the sorting waits for `stats()`. */
export class Reservoir {
  readonly #values = new Float64Array(SAMPLES);
  #count = 0;

  add(ms: number): void {
    this.#values[this.#count++ % SAMPLES] = ms > 0 ? ms : 0;
  }

  percentiles(): Percentiles {
    const n = Math.min(this.#count, SAMPLES);
    if (n === 0) return { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
    const sorted = this.#values.slice(0, n).sort();
    let sum = 0;
    for (let i = 0; i < n; i++) sum += sorted[i]!;
    const at = (q: number): number => sorted[Math.min(n - 1, Math.ceil(q * n) - 1)]!;
    return { count: n, mean: sum / n, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted[n - 1]! };
  }
}
