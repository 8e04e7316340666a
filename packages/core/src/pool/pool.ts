/**
 * `Pool`: Python's `multiprocessing.Pool` (and a `concurrent.futures` executor) for threadkit,
 * on every runtime. Long-lived workers, threads or processes, run many tasks each.
 *
 * How tasks travel: the pool keeps one queue; each worker holds a short window of tasks (the one
 * it runs and the next few), sized from how long the task has been taking, so a worker never
 * waits for its next task and a slow task never holds many behind it. Tasks go to a worker in
 * batches, one message for many tasks, and come back the same way; `map` cuts its items into
 * chunks as Python does. A worker runs its tasks one at a time, in order.
 *
 * What can go wrong: a task that throws rejects its own promise and the worker stays; a worker
 * that dies rejects the task it was running (and any that had ended but whose results died with
 * it), and the tasks it held but had not started run elsewhere; a dead worker is replaced. An
 * aborted or timed-out task rejects at once; if it was running, its `taskSignal()` aborts, and if
 * it does not stop within `abortGrace`, its worker is terminated and replaced.
 *
 * Workers start without blocking the caller: the first few (one per CPU, at most `size`) in the
 * turns after the pool is created, the rest as tasks find no worker with room, a few per turn.
 */
import { _asyncDispose } from '../_globals.js';
import { InvalidStateError, QueueFullError } from '../errors.js';
import type { AbortSignalLike } from '../futex.js';
import { MODE_APPLY } from '../protocol.js';
import { getRuntime, type WorkerKind } from '../runtime.js';
import type { AnyFunction, Target } from '../task.js';
import { checkOptionsObject, checkSignal, checkTimeout, describe } from '../validate.js';
import { mapAll, mapJob, stream, streamJob } from './chunks.js';
import { APPLY_KEYS, abortError, poolConfig, type ApplyOptions, type ApplyRest, type ImapOptions, type MapOptions, type PoolOptions } from './options.js';
import { Scheduler } from './scheduler.js';
import type { PoolStats } from './stats.js';
import type { TargetRec } from './task-queue.js';

export { taskSignal } from './worker.js';
export type { Percentiles, PoolStats } from './stats.js';
export type { ApplyOptions, ApplyRest, ImapOptions, MapOptions, MapProgress, PoolOptions } from './options.js';

/**
 * A pool of workers that run tasks: Python's `multiprocessing.Pool`. Workers start with the
 * pool and are replaced when they die; `await using` (or `terminate()`) stops them.
 * @example
 * const tasks = taskModule<typeof import('./tasks.ts')>(new URL('./tasks.ts', import.meta.url));
 * await using pool = new Pool({ size: 4 });
 * const hash = await pool.apply(tasks.sha256, [bytes]);
 * const primes = await pool.map(tasks.countPrimes, ranges, { onProgress: ({ done, total }) => bar(done / total) });
 * for await (const line of pool.imap(tasks.render, rows)) print(line);
 */
export class Pool {
  /** The most workers; fewer may be alive (`stats().workers`), as they start when tasks need them. */
  readonly size: number;
  /** What its workers are: threads or processes. */
  readonly kind: WorkerKind;

  readonly #s: Scheduler;

  constructor(options: PoolOptions = {}) {
    const runtime = getRuntime();
    const config = poolConfig(options, runtime);
    this.size = config.size;
    this.kind = config.kind;
    this.#s = new Scheduler(config, runtime);
  }

  // ------------------------------------------------------------------------------ submitting

  /**
   * Runs `target(...args)` in a worker; resolves with its value, or rejects with its error
   * (`TaskError`, with the remote stack). Python's `apply_async(...).get()`.
   * @example
   * const sum = await pool.apply(tasks.add, [2, 3], { timeout: 1000 });
   */
  apply<F extends AnyFunction>(target: Target<F>, ...rest: ApplyRest<F>): Promise<Awaited<ReturnType<F>>> {
    const s = this.#s;
    const [args = [], options] = rest as [unknown[] | undefined, ApplyOptions | undefined];
    let rec: TargetRec;
    let what: string;
    let signal: AbortSignalLike | undefined;
    let timeout: number | undefined;
    try {
      rec = s.targets.get(target, 'Cannot apply');
      what = `Cannot apply ${rec.name}`;
      s.checkOpen(what);
      if (!Array.isArray(args)) throw new TypeError(`${what}: args must be an array of arguments, got ${describe(args)}`);
      if (options !== undefined) {
        const o = checkOptionsObject<ApplyOptions>(what, options, APPLY_KEYS);
        signal = checkSignal(what, o.signal);
        timeout = checkTimeout(what, o.timeout);
        if (signal?.aborted) throw abortError(what, signal);
      }
      const maxQueue = s.config.maxQueue;
      if (maxQueue > 0 && s.queue.length >= maxQueue) {
        throw new QueueFullError(
          `${what}: the pool's queue is full (maxQueue ${maxQueue}); wait for some results first, or create the Pool with a larger maxQueue`,
        );
      }
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      const task = s.newTask(rec, MODE_APPLY, args, 1);
      task.resolve = resolve as (value: unknown) => void;
      task.reject = reject;
      if (signal || timeout !== undefined) s.watch(task, what, signal, timeout);
      s.enqueue(task);
    });
  }

  /**
   * Calls `target(item)` for every item, in workers, and resolves with the results in order:
   * Python's `Pool.map`. Items go in chunks (`chunksize`; by default as Python cuts them).
   * The first task to fail rejects the whole map, and the chunks not yet started are dropped.
   * @example
   * const lengths = await pool.map(tasks.wordCount, files, { onProgress: (p) => draw(p.done / p.total) });
   */
  // biome-ignore lint/suspicious/noExplicitAny: any keeps the item type of any one-parameter function
  map<F extends (item: any) => any>(target: Target<F>, items: Iterable<NoInfer<Parameters<F>[0]>>, options?: MapOptions): Promise<Awaited<ReturnType<F>>[]> {
    return this.#map('map', target, items, options, false) as Promise<Awaited<ReturnType<F>>[]>;
  }

  /** Like {@link map}, but each item is an array of arguments: `target(...item)`. Python's `Pool.starmap`. */
  starmap<F extends AnyFunction>(target: Target<F>, items: Iterable<NoInfer<Parameters<F>>>, options?: MapOptions): Promise<Awaited<ReturnType<F>>[]> {
    return this.#map('starmap', target, items, options, true) as Promise<Awaited<ReturnType<F>>[]>;
  }

  /**
   * Like {@link map}, but streams: results come in order as they are ready, and the items
   * (any iterable or async iterable, even an endless one) are read only as far ahead as needed.
   * A failed task throws from the loop at its place. Python's `Pool.imap`.
   * @example
   * for await (const digest of pool.imap(tasks.sha256, readChunks(file), { chunksize: 4 })) out.write(digest);
   */
  // biome-ignore lint/suspicious/noExplicitAny: any keeps the item type of any one-parameter function
  imap<F extends (item: any) => any>(
    target: Target<F>,
    items: Iterable<NoInfer<Parameters<F>[0]>> | AsyncIterable<NoInfer<Parameters<F>[0]>>,
    options?: ImapOptions,
  ): AsyncGenerator<Awaited<ReturnType<F>>, void, undefined> {
    return this.#imap('imap', target, items, options, true) as AsyncGenerator<Awaited<ReturnType<F>>, void, undefined>;
  }

  /** Like {@link imap}, but results come in the order they are ready. Python's `Pool.imap_unordered`. */
  // biome-ignore lint/suspicious/noExplicitAny: any keeps the item type of any one-parameter function
  imapUnordered<F extends (item: any) => any>(
    target: Target<F>,
    items: Iterable<NoInfer<Parameters<F>[0]>> | AsyncIterable<NoInfer<Parameters<F>[0]>>,
    options?: ImapOptions,
  ): AsyncGenerator<Awaited<ReturnType<F>>, void, undefined> {
    return this.#imap('imapUnordered', target, items, options, false) as AsyncGenerator<Awaited<ReturnType<F>>, void, undefined>;
  }

  async #map(method: string, target: unknown, items: unknown, options: MapOptions | undefined, starmap: boolean): Promise<unknown[]> {
    const s = this.#s;
    const rec = s.targets.get(target, `Cannot ${method}`);
    const what = `Cannot ${method} ${rec.name}`;
    s.checkOpen(what);
    return mapAll(s.chunkOf(rec), mapJob(what, items, options, starmap));
  }

  #imap(method: string, target: unknown, items: unknown, options: ImapOptions | undefined, ordered: boolean): AsyncGenerator<unknown, void, undefined> {
    const s = this.#s;
    const rec = s.targets.get(target, `Cannot ${method}`);
    const what = `Cannot ${method} ${rec.name}`;
    s.checkOpen(what);
    return stream(s.chunkOf(rec), streamJob(what, items, options, ordered));
  }

  // ------------------------------------------------------------------------------ ending

  /**
   * Takes no more tasks, lets the queued ones finish, then lets the workers go. Resolves once
   * they all have (Python's `close()` then `join()`).
   */
  close(): Promise<void> {
    return this.#s.close();
  }

  /**
   * Stops every worker now. Every task not yet ended rejects with `PoolClosedError`. Resolves
   * once the workers are gone. `await using` calls it at the end of the scope, as Python's
   * `with Pool()` does.
   */
  terminate(): Promise<void> {
    return this.#s.terminate();
  }

  /** Waits until every worker has gone, after `close()` or `terminate()`; Python's `join()`. */
  join(): Promise<void> {
    if (this.#s.state === 'running') {
      return Promise.reject(new InvalidStateError('Cannot join the pool: it still takes tasks; call close() (finish the queued tasks) or terminate() first'));
    }
    return this.#s.ended;
  }

  /** Terminates the pool at the end of an `await using` scope. */
  [_asyncDispose](): Promise<void> {
    return this.terminate();
  }

  /** What the pool is doing, and how long tasks have been taking. */
  stats(): PoolStats {
    return this.#s.stats();
  }
}
