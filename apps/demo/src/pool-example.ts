/**
 * POOL: Python's `multiprocessing.Pool` in threadkit. The primes below a limit are cut into
 * parts; `pool.starmap` counts them on a pool of 1 worker, then on a pool of one worker per CPU,
 * drawing a progress bar as the parts come back, and the speed-up is measured, never assumed.
 *
 * ```py
 * with Pool(processes=4) as pool:                        # await using pool = new Pool({ size: 4 })
 *     counts = pool.starmap(count_primes, parts)          # await pool.starmap(tasks.countPrimes, parts, { onProgress })
 * ```
 */
import { Pool, cpuCount, type TaskModule } from '@threadkit/node';
import type * as player from './tasks.ts';

/** What the example needs from main.ts. */
export interface PoolExampleOptions {
  /** The demo's task module (tasks.ts, or tasks.js next to dist/main.js). */
  readonly tasks: TaskModule<typeof player>;
  /** Count the primes below this. */
  readonly limit: number;
  /** Prints the example's header. */
  readonly header: (id: string, seed: string, shows: string) => void;
  /** Whether the progress bar may redraw itself in place (a terminal); else it prints a line per quarter. */
  readonly live?: boolean;
}

/** How many parts the numbers are cut into: enough for a smooth bar and an even spread over the workers. */
const PARTS = 40;
const BAR = 30;

/** `[██████░░░░░░]  15/40 parts` */
function bar(done: number, total: number): string {
  const full = Math.round((done / total) * BAR);
  return `[${'█'.repeat(full)}${'░'.repeat(BAR - full)}] ${String(done).padStart(String(total).length)}/${total} parts`;
}

/** Counts the primes on a pool of `size` workers, drawing the progress; returns the count, the time and the pool's stats. */
async function countOn(size: number, { tasks, limit, live }: PoolExampleOptions): Promise<{ primes: number; ms: number; runP50: number; runP90: number }> {
  // `await using`: leaving the block terminates the pool, as Python's `with Pool()` does.
  await using pool = new Pool({ size });
  // Load the task module in every worker first, so the timing is the counting, not the start-up.
  await pool.starmap(
    tasks.countPrimes,
    Array.from({ length: size }, () => [0] as [number]),
    { chunksize: 1 },
  );

  const label = `   ${size} worker${size === 1 ? ' ' : 's'}  `;
  let quarter = 0;
  const onProgress = ({ done, total }: { done: number; total: number }): void => {
    if (live) process.stdout.write(`\r${label}${bar(done, total)}`);
    else if (done * 4 >= (quarter + 1) * total) {
      // Not a terminal (a pipe, a test): a line at each quarter instead of redrawing.
      quarter = Math.floor((done * 4) / total);
      console.log(`${label}${bar(done, total)}`);
    }
  };
  const parts = Array.from({ length: PARTS }, (_, part) => [limit, part, PARTS] as [number, number, number]);
  const t0 = performance.now();
  // One part per task (chunksize 1): the bar moves with every part, and a free worker takes the next.
  const counts = await pool.starmap(tasks.countPrimes, parts, { chunksize: 1, onProgress });
  const ms = performance.now() - t0;
  if (live) process.stdout.write('\n');
  const { runTime } = pool.stats();
  return { primes: counts.reduce((a, b) => a + b, 0), ms, runP50: runTime.p50, runP90: runTime.p90 };
}

/** Runs the POOL example. */
export async function poolExample(options: PoolExampleOptions): Promise<void> {
  const n = Math.max(2, cpuCount());
  options.header(
    'POOL',
    `multiprocessing.Pool: pool.starmap() on 1 worker vs ${n}, with a progress bar`,
    `A Pool keeps its workers and hands them tasks; map/starmap cut the work into chunks (as Python does) and give the
   results back in order. The primes below ${options.limit.toLocaleString('en-US')}, cut into ${PARTS} parts: first on 1 worker, then on ${n}.`,
  );
  const one = await countOn(1, options);
  const many = await countOn(n, options);
  const ms = (v: number) => `${Math.round(v)} ms`;
  console.log(`\n   1 worker : ${one.primes} primes in ${ms(one.ms)} (a part took ${ms(one.runP50)} at the median, ${ms(one.runP90)} at p90)`);
  console.log(`   ${n} workers: ${many.primes} primes in ${ms(many.ms)} (a part took ${ms(many.runP50)} at the median, ${ms(many.runP90)} at p90)`);
  const speedup = one.ms / many.ms;
  console.log(`   Pool speed-up: ${speedup.toFixed(2)}× on ${cpuCount()} logical CPUs (${((100 * speedup) / n).toFixed(0)}% of linear)`);
  console.log(
    speedup >= 1.3
      ? '   Measured: the workers counted in parallel; a pool of threads spreads CPU-bound work over the cores.'
      : '   Measured: no real speed-up this time (a busy machine, or a single CPU?); try again with a larger --primes.',
  );
  if (one.primes !== many.primes) throw new Error(`POOL: ${n} workers counted ${many.primes} primes, 1 worker ${one.primes}`);
}
