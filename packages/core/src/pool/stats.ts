/** What `Pool.stats()` reports: counts of what happened to tasks and workers, and percentiles of how long tasks took. */

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
    this.#values[this.#count++ % SAMPLES] = Math.max(ms, 0);
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

/** What `Pool.stats()` reports. */
export interface PoolStats {
  /** The most workers the pool may have (its `size`); they start as tasks need them. */
  readonly size: number;
  /** Workers alive (starting, busy or idle), not counting those on their way out: at most `size`. */
  readonly workers: number;
  readonly busy: number;
  readonly idle: number;
  readonly starting: number;
  /** Tasks waiting in the pool's queue. */
  readonly queued: number;
  /** Tasks handed to a worker and not yet ended: the ones running and the few each worker holds next. */
  readonly running: number;
  readonly submitted: number;
  readonly completed: number;
  /** Tasks that threw, or whose worker died under them. */
  readonly failed: number;
  readonly aborted: number;
  readonly timedOut: number;
  /** Workers that died and were replaced (crashes, `exit()`, terminated after `abortGrace`). */
  readonly crashed: number;
  /** How long tasks ran inside their worker (a `map` chunk counts as one task), ms. */
  readonly runTime: Percentiles;
  /** How long tasks waited from submission until they started, ms. */
  readonly waitTime: Percentiles;
}

/** The counts a pool keeps for {@link PoolStats}. */
export class Tally {
  submitted = 0;
  completed = 0;
  failed = 0;
  aborted = 0;
  timedOut = 0;
  /** Workers that died and were replaced. */
  crashed = 0;
  /** How long tasks ran inside their worker, ms. */
  readonly runTimes = new Reservoir();
  /** How long tasks waited from submission until they started, ms. */
  readonly waitTimes = new Reservoir();
}
