/**
 * The conformance suite's Pool section: Python's `multiprocessing.Pool` on each worker kind:
 * results, chunking and streaming, failures and dead workers, cancellation and time limits,
 * worker recycling, back-pressure, ending, statistics, and bad input.
 */
import {
  AbortError,
  Barrier,
  DataCloneError,
  Event,
  Pool,
  PoolClosedError,
  QueueFullError,
  TaskError,
  TaskNotFoundError,
  TimeoutError,
  WorkerExitError,
  cpuCount,
  getRuntime,
  taskModule,
  taskSignal,
  Queue,
  type PoolOptions,
  type WorkerKind,
} from '../index.js';
import { PATIENCE_MS, sleepFor, until } from './helpers.js';
import { deepEqual, equal, match, ok, rejects, throws } from './assert.js';
import type { TestApi } from './index.js';

type PoolFixtures = typeof import('./fixtures/pool-tasks.js');

/** The Pool section's task module. */
export const poolTasks = taskModule<PoolFixtures>(new URL('./fixtures/pool-tasks.js', import.meta.url));
const tasks = poolTasks;

/** Everything in a queue this realm owns, taken out. */
function drain<T>(queue: Queue<T>): T[] {
  const out: T[] = [];
  while (queue.qsize() > 0) out.push(queue.getNowait());
  return out;
}

const byNumber = (a: number, b: number): number => a - b;

/** Registers the Pool tests for one worker kind. */
export function poolSuite(t: TestApi, kind: WorkerKind): void {
  /** Runs `fn` with a new pool of this kind, and terminates the pool after, however `fn` ends. */
  const withPool = async (options: PoolOptions, fn: (pool: Pool) => Promise<void>): Promise<void> => {
    const pool = new Pool({ kind, ...options });
    try {
      await fn(pool);
    } finally {
      await pool.terminate();
    }
  };
  // Where a thread shares memory with its parent, a CPU-bound task sees its abort without yielding.
  const sharesMemory = (): boolean => kind === 'thread' && getRuntime().capabilities.sharedMemory;

  t.describe(kind === 'process' ? 'Pool of processes' : 'Pool of threads', () => {
    t.it('apply runs a task in a worker and resolves with its value; args may be left out; inline functions run too', async () => {
      await withPool({ size: 2 }, async (pool) => {
        equal(pool.size, 2);
        equal(pool.kind, kind);
        equal(await pool.apply(tasks.add, [2, 3]), 5);
        equal(await pool.apply(tasks.noArgs), 'no args');
        equal(await pool.apply((a: number, b: number) => a * b, [6, 7]), 42);
        const who = await pool.apply(tasks.ident);
        ok(typeof who === 'number', `a worker ident, got ${who}`);
      });
    });

    t.it('a result is not held back while the worker runs its next, longer task', async () => {
      // The next task runs until it is aborted, and it is aborted only once the quick result is
      // here: had the result waited for the task to end, neither would ever come.
      await withPool({ size: 1, abortGrace: 200 }, async (pool) => {
        await pool.apply(tasks.add, [0, 0]);
        const waiting = new AbortController();
        const quick = pool.apply(tasks.add, [1, 2]);
        const slow = pool.apply(tasks.waitForAbort, [600_000], { signal: waiting.signal });
        equal(await quick, 3);
        waiting.abort();
        await rejects(slow, AbortError);
        // The same when the next task is CPU-bound (it never yields, so the worker must send first).
        const spinning = new AbortController();
        const quick2 = pool.apply(tasks.add, [2, 2]);
        const spin = pool.apply(tasks.spinUntilAborted, [600_000], { signal: spinning.signal });
        equal(await quick2, 4);
        spinning.abort();
        await rejects(spin, AbortError);
      });
    });

    t.it('many tasks at once all settle with their own results, spread over the workers', async () => {
      await withPool({ size: 2 }, async (pool) => {
        const results = await Promise.all(Array.from({ length: 2000 }, (_, i) => pool.apply(tasks.add, [i, 1])));
        deepEqual(
          results,
          Array.from({ length: 2000 }, (_, i) => i + 1),
        );
        const stats = pool.stats();
        equal(stats.submitted, 2000);
        equal(stats.completed, 2000);
        equal(stats.workers, 2);
      });
    });

    t.it('map keeps the order of its items, chunked automatically or by chunksize; starmap spreads each item', async () => {
      await withPool({ size: 2 }, async (pool) => {
        const items = Array.from({ length: 1000 }, (_, i) => i);
        deepEqual(
          await pool.map(tasks.square, items),
          items.map((x) => x * x),
        );
        deepEqual(await pool.map(tasks.square, new Set([3, 1, 2]), { chunksize: 1 }), [9, 1, 4]);
        deepEqual(await pool.map(tasks.echo, ['a', { b: [1n] }, null]), ['a', { b: [1n] }, null]);
        const gen = function* () {
          yield 5;
          yield 6;
        };
        deepEqual(await pool.map(tasks.square, gen(), { chunksize: 7 }), [25, 36]);
        deepEqual(await pool.map(tasks.square, []), []);
        deepEqual(
          await pool.starmap(tasks.add, [
            [1, 2],
            [3, 4],
            [5, 6],
          ]),
          [3, 7, 11],
        );
        const stats = pool.stats();
        equal(stats.failed, 0);
      });
    });

    t.it('map reports progress after each chunk, ending at the total', async () => {
      await withPool({ size: 2 }, async (pool) => {
        const seen: number[] = [];
        const out = await pool.map(
          tasks.square,
          Array.from({ length: 100 }, (_, i) => i),
          {
            chunksize: 10,
            onProgress: ({ done, total }) => {
              equal(total, 100);
              seen.push(done);
            },
          },
        );
        equal(out.length, 100);
        equal(seen.length, 10, 'one report per chunk');
        for (let i = 1; i < seen.length; i++) ok(seen[i]! > seen[i - 1]!, `progress grows: ${seen}`);
        equal(seen[seen.length - 1], 100);
      });
    });

    t.it('imap streams results in order and reads its input lazily; imapUnordered yields every result', async () => {
      await withPool({ size: 2 }, async (pool) => {
        const got: number[] = [];
        for await (const x of pool.imap(tasks.square, [1, 2, 3, 4, 5], { chunksize: 2 })) got.push(x);
        deepEqual(got, [1, 4, 9, 16, 25]);
        // An endless input: the loop ends early, the input was read only a little ahead, and closed.
        let pulled = 0;
        let closed = false;
        const endless = function* () {
          try {
            for (let i = 0; ; i++) {
              pulled++;
              yield i;
            }
          } finally {
            closed = true;
          }
        };
        const firsts: number[] = [];
        for await (const x of pool.imap(tasks.square, endless())) {
          firsts.push(x);
          if (firsts.length === 5) break;
        }
        deepEqual(firsts, [0, 1, 4, 9, 16]);
        ok(pulled < 1000, `read ahead at most a bounded amount, read ${pulled}`);
        ok(closed, 'the input iterator was closed');
        // An async input, unordered.
        const source = async function* () {
          for (let i = 1; i <= 6; i++) {
            await sleepFor(1);
            yield i;
          }
        };
        const unordered: number[] = [];
        for await (const x of pool.imapUnordered(tasks.square, source())) unordered.push(x);
        deepEqual(
          [...unordered].sort((a, b) => a - b),
          [1, 4, 9, 16, 25, 36],
        );
        equal(pool.stats().queued, 0, 'nothing left queued after an early break');
      });
    });

    t.it('imap: an aborted signal ends the loop with AbortError; a failed task ends it at its place', async () => {
      await withPool({ size: 2, abortGrace: 100 }, async (pool) => {
        const controller = new AbortController();
        const got: unknown[] = [];
        const error = await rejects(async () => {
          for await (const x of pool.imap(tasks.sleep, [10, 10, 10, 2_000, 2_000, 2_000], { signal: controller.signal })) {
            got.push(x);
            if (got.length === 2) controller.abort();
          }
        }, AbortError);
        match(error.message, /Cannot imap sleep: aborted/);
        deepEqual(got, [10, 10]);
        const before: number[] = [];
        await rejects(
          async () => {
            for await (const x of pool.imap(tasks.failAt, [11, 12, 13, 14])) before.push(x);
          },
          TaskError,
          /unlucky 13/,
        );
        deepEqual(before, [11, 12], 'the results before the failure came first');
        await until('no task is left queued or running', () => pool.stats().queued === 0 && pool.stats().running === 0);
      });
    });

    t.it('a task that throws rejects with TaskError carrying the remote class, code and stack; the worker stays', async () => {
      await withPool({ size: 1 }, async (pool) => {
        const before = await pool.apply(tasks.ident);
        const error = await rejects(pool.apply(tasks.fail, ['歌曲1']), TaskError, /PlayerError: cannot play 歌曲1/);
        const cause = error.cause as Error & { code?: string };
        equal(cause.name, 'PlayerError');
        equal(cause.code, 'E_PLAYER');
        match(cause.stack, /fail/, 'the remote stack names the function');
        await rejects(pool.apply(tasks.rejectWithString), TaskError, /non-Error value was thrown: a plain string/);
        equal(await pool.apply(tasks.ident), before, 'the same worker serves on');
        const stats = pool.stats();
        equal(stats.failed, 2);
        equal(stats.crashed, 0);
      });
    });

    t.it('a failing item rejects the whole map with its error', async () => {
      await withPool({ size: 2 }, async (pool) => {
        await rejects(
          pool.map(
            tasks.failAt,
            Array.from({ length: 40 }, (_, i) => i),
            { chunksize: 4 },
          ),
          TaskError,
          /RangeError: unlucky 13/,
        );
        deepEqual(await pool.map(tasks.failAt, [1, 2]), [1, 2], 'the pool still serves');
      });
    });

    t.it('an unknown export, a result that cannot be sent and args that cannot be sent fail that task only, saying why', async () => {
      await withPool({ size: 1 }, async (pool) => {
        const missing = (tasks as unknown as Record<string, typeof tasks.add>).nope!;
        await rejects(pool.apply(missing, [1, 2]), TaskNotFoundError, /no exported function `nope`/);
        await rejects(pool.apply(tasks.returnsFunction), DataCloneError, /result: function/);
        const error = await rejects(pool.apply(tasks.echo, [{ title: 'x', cb: () => 1 }] as never), DataCloneError, /args\[0\]\.cb: function/);
        equal((error as DataCloneError).path, 'args[0].cb');
        equal(await pool.apply(tasks.add, [1, 1]), 2);
      });
    });

    t.it('a worker that exits rejects the task it ran with WorkerExitError; it is replaced and the pool serves on', async () => {
      await withPool({ size: 2 }, async (pool) => {
        const first = new Set(await Promise.all([pool.apply(tasks.ident), pool.apply(tasks.ident)]));
        const error = await rejects(pool.apply(tasks.exitWith, [3]), WorkerExitError, /exited with code 3 while running exitWith/);
        equal((error as WorkerExitError).exitCode, 3);
        // Tasks around a crash: each one settles, with its own result; none but the crash fails.
        const adds = Array.from({ length: 50 }, (_, i) => pool.apply(tasks.add, [i, i]));
        const crash = rejects(pool.apply(tasks.exitWith, [4]), WorkerExitError, /code 4/);
        const more = Array.from({ length: 50 }, (_, i) => pool.apply(tasks.add, [i, 1]));
        const all = Promise.allSettled([...adds, ...more]);
        await crash;
        const settled = await all;
        settled.forEach((s, i) => {
          const want = i < 50 ? 2 * i : i - 50 + 1;
          if (s.status === 'fulfilled') equal(s.value, want, `task ${i}`);
          else ok(false, `no task beside the crash is lost: task ${i} ${(s.reason as Error).message}`);
        });
        equal(await pool.apply(tasks.add, [2, 2]), 4);
        await until('the pool is back to 2 workers', () => pool.stats().workers === 2);
        const stats = pool.stats();
        equal(stats.crashed, 2);
        const now = new Set(await Promise.all(Array.from({ length: 8 }, () => pool.apply(tasks.ident))));
        ok(
          [...now].some((x) => !first.has(x)),
          'a new worker took over',
        );
      });
    });

    t.it('an error that escapes every task ends the worker: the task rejects with its TaskError, and the worker is replaced', async () => {
      await withPool({ size: 1 }, async (pool) => {
        await rejects(pool.apply(tasks.uncaught), TaskError, /TypeError: thrown from a timer/);
        equal(await pool.apply(tasks.add, [1, 2]), 3);
        equal(pool.stats().crashed, 1);
      });
    });

    t.it('an error that escapes after its task has returned ends the worker, fails no task, and is reported', async () => {
      const runtime = getRuntime();
      const report = runtime.reportError;
      const reported: string[] = [];
      (runtime as { reportError(text: string): void }).reportError = (text) => void reported.push(text);
      try {
        await withPool({ size: 1 }, async (pool) => {
          equal(await pool.apply(tasks.strayError), 'returned');
          await until('the worker has died', () => pool.stats().crashed === 1);
          equal(await pool.apply(tasks.add, [1, 2]), 3, 'a new worker serves');
          equal(pool.stats().failed, 0);
          equal(reported.length, 1, `reported once: ${reported}`);
          match(reported[0], /^Exception in PoolWorker-\d+:\n.*TypeError: thrown after its task had returned/s);
        });
      } finally {
        (runtime as { reportError(text: string): void }).reportError = report;
      }
    });

    // The three ways a worker dies under a task: it calls exit(), an error escapes it, or it ignores
    // its abort and is terminated after abortGrace. Each time the worker holds quick tasks of the
    // same target behind the dying one (sent with it, in one batch); they never started there.
    const deaths = [
      ['calls exit(1)', 'exit', WorkerExitError, /exited with code 1 while running job/],
      ['lets an error escape', 'uncaught', TaskError, /TypeError: escaped from job 0/],
      ['is terminated after abortGrace', 'hang', AbortError, /Cannot apply job: aborted/],
    ] as const;
    for (const [how, mode, Expected, message] of deaths) {
      t.it(`a worker that ${how} rejects only the task it ran; the tasks it held and had not started run elsewhere, once each`, async () => {
        await withPool({ size: 1, abortGrace: 50 }, async (pool) => {
          const runs = new Queue<number>();
          // Quick runs first, so the pool knows the target is quick and sends the worker several at once.
          for (let i = 0; i < 5; i++) await pool.apply(tasks.job, [-1, 'ok', runs]);
          drain(runs);
          const started = new Event();
          const controller = new AbortController();
          const dying = pool.apply(tasks.job, [0, mode, runs, started], { signal: controller.signal });
          // Watched from now on: the worker may die before this side has seen `started` set.
          const died = rejects(dying, Expected, message);
          const held = Array.from({ length: 10 }, (_, i) => pool.apply(tasks.job, [i + 1, 'ok', runs]));
          ok(await started.wait({ timeout: PATIENCE_MS }), 'the dying task started');
          if (mode === 'hang') controller.abort();
          await died;
          const settled = await Promise.allSettled(held);
          for (const [i, s] of settled.entries())
            ok(s.status === 'fulfilled', `held task ${i + 1} ran elsewhere, got ${s.status === 'rejected' ? (s.reason as Error).message : ''}`);
          deepEqual(
            settled.map((s) => (s as PromiseFulfilledResult<{ id: number }>).value.id),
            Array.from({ length: 10 }, (_, i) => i + 1),
          );
          deepEqual(
            drain(runs).sort(byNumber),
            Array.from({ length: 11 }, (_, i) => i),
            'every task ran exactly once',
          );
          equal(pool.stats().crashed, 1);
          equal(pool.stats().failed + pool.stats().aborted, 1, 'one task failed: the one that was running');
        });
      });
    }

    t.it('an abort reaches the running task through taskSignal(); the task stops, rejects with AbortError, and its worker stays', async () => {
      // A patient grace: the worker stays if its task stops by itself, however slowly a loaded
      // machine runs it. The tasks outlast the grace, so one that never saw its abort loses its worker.
      await withPool({ size: 1, abortGrace: PATIENCE_MS }, async (pool) => {
        const before = await pool.apply(tasks.ident);
        const started = new Event();
        const controller = new AbortController();
        const result = pool.apply(tasks.waitForAbort, [600_000, started], { signal: controller.signal });
        ok(await started.wait({ timeout: PATIENCE_MS }), 'the task started');
        controller.abort(new Error('stop now'));
        const error = await rejects(result, AbortError, /Cannot apply waitForAbort: aborted: stop now/);
        equal((error.cause as Error).message, 'stop now');
        const listened = new AbortController();
        const listening = new Event();
        const byEvent = pool.apply(tasks.abortEvent, [600_000, listening], { signal: listened.signal });
        ok(await listening.wait({ timeout: PATIENCE_MS }), 'the task listens for its abort event');
        listened.abort();
        await rejects(byEvent, AbortError);
        equal(await pool.apply(tasks.ident), before, 'the same worker serves on');
        equal(pool.stats().aborted, 2);
        equal(pool.stats().crashed, 0);
      });
    });

    t.it('a CPU-bound task reading taskSignal().aborted stops; one that ignores its signal loses its worker after abortGrace', async () => {
      // With shared memory the loop sees the abort at once: the grace is patient, so the worker
      // stays however slowly a loaded machine runs the loop (which outlasts the grace: a loop that
      // never saw its abort loses its worker). A process sees it only by message, which it cannot
      // read while it spins, so its worker is terminated after a short grace.
      await withPool({ size: 1, abortGrace: sharesMemory() ? PATIENCE_MS : 200 }, async (pool) => {
        const started = new Event();
        const controller = new AbortController();
        const spinning = pool.apply(tasks.spinUntilAborted, [600_000, started], { signal: controller.signal });
        ok(await started.wait({ timeout: PATIENCE_MS }), 'the task started');
        controller.abort();
        await rejects(spinning, AbortError);
        equal(await pool.apply(tasks.add, [1, 1]), 2);
        equal(pool.stats().crashed, sharesMemory() ? 0 : 1, sharesMemory() ? 'the spinning task stopped by itself' : 'the worker was replaced');
      });
      await withPool({ size: 1, abortGrace: 200 }, async (pool) => {
        const deaf = new AbortController();
        const deafStarted = new Event();
        const hung = pool.apply(tasks.ignoreAbort, [deafStarted], { signal: deaf.signal });
        ok(await deafStarted.wait({ timeout: PATIENCE_MS }), 'the task that ignores its signal runs');
        deaf.abort();
        await rejects(hung, AbortError);
        const crashed = pool.stats().crashed;
        equal(await pool.apply(tasks.add, [2, 2]), 4, 'the pool serves after replacing the worker');
        equal(pool.stats().crashed, crashed + 1);
      });
    });

    t.it('an aborted task that has not started never runs; a pre-aborted signal rejects at once', async () => {
      // A patient grace: the blocker stops by itself once aborted, so the same worker serves on.
      await withPool({ size: 1, abortGrace: PATIENCE_MS }, async (pool) => {
        equal(await pool.apply(tasks.hit), 1);
        // The blocker runs until it is aborted, after the tasks behind it: they cannot have started.
        const blocking = new AbortController();
        const started = new Event();
        const blocker = pool.apply(tasks.waitForAbort, [600_000, started], { signal: blocking.signal });
        const controllers = [new AbortController(), new AbortController(), new AbortController()];
        const queued = controllers.map((c) => pool.apply(tasks.hit, [], { signal: c.signal }));
        ok(await started.wait({ timeout: PATIENCE_MS }), 'the blocker runs');
        await sleepFor(20); // a turn or two: the first of them may now be held by the worker, behind the blocker
        for (const c of controllers) c.abort();
        await Promise.all(queued.map((q) => rejects(q, AbortError)));
        blocking.abort();
        await rejects(blocker, AbortError);
        await rejects(pool.apply(tasks.hit, [], { signal: AbortSignal.abort() }), AbortError);
        equal(await pool.apply(tasks.hit), 2, 'none of the aborted tasks ran');
        equal(pool.stats().crashed, 0);
      });
    });

    t.it('timeout counts from when the task starts: a running task past it rejects with TimeoutError and sees its signal abort', async () => {
      // A patient grace: the running task stops by itself once aborted, so the same worker serves
      // on (it outlasts the grace: had it not seen its abort, a new worker would count the hits).
      await withPool({ size: 1, abortGrace: PATIENCE_MS }, async (pool) => {
        equal(await pool.apply(tasks.hit), 1);
        const running = rejects(pool.apply(tasks.waitForAbort, [600_000], { timeout: 100 }), TimeoutError, /did not finish within 100 ms of starting/);
        // Queued behind it longer than its own timeout: its wait does not count.
        const queued = pool.apply(tasks.hit, [], { timeout: 50 });
        await running;
        equal(await queued, 2, 'the queued task ran once the one before it had stopped');
        equal(await pool.apply(tasks.hit), 3, 'the same worker served on');
        equal(pool.stats().timedOut, 1);
        // A map with a timeout fails as a whole.
        await rejects(pool.map(tasks.sleep, [400, 400, 400], { timeout: 100, chunksize: 1 }), TimeoutError, /of its first chunk starting/);
      });
    });

    t.it("timeout counts neither the worker's start nor the import of the task module", async () => {
      // The module takes SLOW_START_MS to load, far longer than the timeout; the task itself is quick.
      const slow = taskModule<typeof import('./fixtures/slow-start.js')>(new URL('./fixtures/slow-start.js', import.meta.url));
      await withPool({ size: 1 }, async (pool) => {
        equal(await pool.apply(slow.quick, [], { timeout: 300 }), 'quick');
        deepEqual(await pool.map(slow.quick, [1, 2], { timeout: 300 }), ['quick', 'quick']);
        equal(pool.stats().timedOut, 0);
      });
      await withPool({ size: 1 }, async (pool) => {
        // A fresh worker, a map first.
        deepEqual(await pool.map(slow.quick, [1], { timeout: 300 }), ['quick']);
      });
    });

    t.it('taskSignal() outside a pool task never aborts', async () => {
      equal(taskSignal().aborted, false);
      await withPool({ size: 1 }, async (pool) => {
        equal(await pool.apply(tasks.signalState), false);
      });
    });

    t.it('maxTasksPerChild replaces a worker after that many tasks', async () => {
      await withPool({ size: 1, maxTasksPerChild: 2 }, async (pool) => {
        const idents: (number | undefined)[] = [];
        for (let i = 0; i < 6; i++) idents.push(await pool.apply(tasks.ident));
        equal(idents[0], idents[1]);
        equal(idents[2], idents[3]);
        equal(idents[4], idents[5]);
        equal(new Set(idents).size, 3, `three workers in turn: ${idents}`);
        equal(pool.stats().crashed, 0);
        equal(pool.stats().workers, 1);
      });
    });

    t.it('idleTimeout lets idle workers go; the pool starts them again for new tasks', async () => {
      await withPool({ size: 2, idleTimeout: 50 }, async (pool) => {
        equal(await pool.apply(tasks.add, [1, 2]), 3);
        await until('idle workers have left', () => pool.stats().workers === 0);
        deepEqual(await pool.map(tasks.square, [1, 2, 3, 4], { chunksize: 1 }), [1, 4, 9, 16]);
        equal(pool.stats().crashed, 0);
      });
    });

    t.it('maxQueue: apply beyond it rejects with QueueFullError; map and imap wait for room instead', async () => {
      await withPool({ size: 1, maxQueue: 2 }, async (pool) => {
        const a = pool.apply(tasks.sleep, [100]);
        const b = pool.apply(tasks.add, [1, 1]);
        await rejects(pool.apply(tasks.add, [2, 2]), QueueFullError, /the pool's queue is full \(maxQueue 2\)/);
        equal(await a, 100);
        equal(await b, 2);
        let most = 0;
        const out: number[] = [];
        for await (const x of pool.imap(
          tasks.square,
          Array.from({ length: 30 }, (_, i) => i),
        )) {
          most = Math.max(most, pool.stats().queued);
          out.push(x);
        }
        equal(out.length, 30);
        ok(most <= 2, `the queue never held more than maxQueue, held ${most}`);
        deepEqual(
          await pool.map(
            tasks.square,
            Array.from({ length: 20 }, (_, i) => i),
            { chunksize: 1 },
          ),
          Array.from({ length: 20 }, (_, i) => i * i),
        );
      });
    });

    t.it('close() finishes the queued tasks, then the workers go; later submissions reject with PoolClosedError', async () => {
      const pool = new Pool({ kind, size: 2 });
      await rejects(pool.join(), Error, /call close\(\) .* or terminate\(\) first/);
      const pending = Array.from({ length: 10 }, (_, i) => pool.apply(tasks.sleep, [20, i]));
      const closed = pool.close();
      await rejects(pool.apply(tasks.add, [1, 1]), PoolClosedError, /the pool is closed/);
      await rejects(pool.map(tasks.square, [1]), PoolClosedError);
      throws(() => pool.imap(tasks.square, [1]), PoolClosedError);
      deepEqual(
        await Promise.all(pending),
        Array.from({ length: 10 }, (_, i) => i),
      );
      await closed;
      await pool.join();
      equal(pool.stats().workers, 0);
    });

    t.it('close() right after submitting, before any worker has started, still runs the tasks, then ends', async () => {
      const pool = new Pool({ kind, size: 1 });
      const sum = pool.apply(tasks.add, [1, 2]);
      const many = pool.map(tasks.square, [1, 2, 3], { chunksize: 1 });
      await pool.close();
      equal(pool.stats().completed, 4, 'close() resolved after the tasks ran');
      equal(await sum, 3);
      deepEqual(await many, [1, 4, 9]);
      equal(pool.stats().workers, 0);
    });

    t.it('terminate() stops at once: every pending task rejects with PoolClosedError', async () => {
      const pool = new Pool({ kind, size: 1 });
      const started = new Event();
      const running = rejects(pool.apply(tasks.sleep, [600_000, undefined, started]), PoolClosedError, /Cannot finish sleep: the pool was terminated/);
      const queued = rejects(pool.apply(tasks.add, [1, 1]), PoolClosedError);
      ok(await started.wait({ timeout: PATIENCE_MS }), 'the first task runs');
      await pool.terminate();
      await running;
      await queued;
      equal(pool.stats().workers, 0);
      await pool.terminate();
      await pool.join();
    });

    t.it('await using terminates the pool at the end of the scope', async () => {
      let kept: Pool | undefined;
      {
        // (The cast: core's own compile does not see Pool as AsyncDisposable; a user's project, with its lib, does.)
        await using pool = new Pool({ kind, size: 1 }) as Pool & AsyncDisposable;
        kept = pool;
        equal(await pool.apply(tasks.add, [20, 22]), 42);
      }
      await rejects(kept.apply(tasks.add, [1, 1]), PoolClosedError);
      equal(kept.stats().workers, 0);
    });

    t.it('stats() reports workers, counts and run and wait time percentiles', async () => {
      await withPool({ size: 2 }, async (pool) => {
        await Promise.all(Array.from({ length: 20 }, () => pool.apply(tasks.sleep, [5])));
        await rejects(pool.apply(tasks.fail, ['x']), TaskError);
        const s = pool.stats();
        equal(s.size, 2);
        equal(s.workers, 2);
        equal(s.busy + s.idle + s.starting, 2);
        equal(s.queued, 0);
        equal(s.running, 0);
        equal(s.submitted, 21);
        equal(s.completed, 20);
        equal(s.failed, 1);
        equal(s.runTime.count, 21);
        ok(s.runTime.p50 >= 4, `a 5 ms sleep runs about 5 ms, p50 ${s.runTime.p50}`);
        ok(s.runTime.p50 <= s.runTime.p90 && s.runTime.p90 <= s.runTime.p99 && s.runTime.p99 <= s.runTime.max, 'percentiles are ordered');
        ok(s.waitTime.count === 21 && s.waitTime.max >= 0, 'wait times are recorded');
      });
    });

    t.it('shared objects travel to pool tasks in args', async () => {
      await withPool({ size: 1 }, async (pool) => {
        const started = new Event();
        const controller = new AbortController();
        const result = pool.apply(tasks.waitForAbort, [5_000, started], { signal: controller.signal });
        equal(await started.wait({ timeout: PATIENCE_MS }), true, 'the task set the Event it was given');
        controller.abort();
        await rejects(result, AbortError);
      });
    });

    t.it('workers start after the constructor returns, and as tasks need them, up to size', async () => {
      const pool = new Pool({ kind, size: 4 });
      try {
        equal(pool.stats().workers, 0, 'the constructor starts no worker: starting one takes the caller milliseconds');
        // Four tasks that can only end together (each waits for all four): the pool must grow to four workers.
        const barrier = new Barrier(4);
        const idents = await Promise.all(Array.from({ length: 4 }, () => pool.apply(tasks.meet, [barrier, PATIENCE_MS])));
        equal(new Set(idents).size, 4, `four distinct workers, got ${idents}`);
        const s = pool.stats();
        equal(s.size, 4);
        equal(s.workers, 4);
        equal(s.busy + s.idle + s.starting, 4);
      } finally {
        await pool.terminate();
      }
    });

    t.it('a size beyond what a pool can sensibly start is refused, saying why', async () => {
      const limit = Math.max(kind === 'process' ? 64 : 256, cpuCount());
      let made: Pool | undefined;
      let error: unknown;
      try {
        made = new Pool({ kind, size: limit + 1 });
      } catch (e) {
        error = e;
      } finally {
        await made?.terminate();
      }
      ok(error instanceof RangeError, `a RangeError, got ${String(error)}`);
      match(
        (error as Error).message,
        new RegExp(
          `^Cannot create a Pool: size must be at most ${limit} for a pool of ${kind === 'process' ? 'processes' : 'threads'}, got \`${limit + 1}\` \\(number\\): each worker is a whole JavaScript engine.*; use a smaller size`,
        ),
      );
      // The limit itself is taken; nothing starts until the pool runs.
      const big = new Pool({ kind, size: limit });
      equal(big.stats().workers, 0);
      equal(big.stats().size, limit);
      await big.terminate();
    });

    t.it('a misspelt option is refused with an error that names it, suggests the closest and lists the rest', async () => {
      throws(
        () => new Pool({ kind, sise: 4 } as never),
        TypeError,
        /^Cannot create a Pool: unknown option "sise" \(did you mean "size"\?\); it takes \{ size, kind, maxTasksPerChild, idleTimeout, maxQueue, abortGrace, name, resourceLimits \}$/,
      );
      throws(() => new Pool({ kind, maxtasksperchild: 2 } as never), TypeError, /unknown option "maxtasksperchild" \(did you mean "maxTasksPerChild"\?\)/);
      throws(() => new Pool({ kind, workers: 2 } as never), TypeError, /^Cannot create a Pool: unknown option "workers"; it takes \{ size, kind/);
      throws(() => new Pool([2] as never), TypeError, /options must be an object like \{ size, kind/);
      await withPool({ size: 1 }, async (pool) => {
        await rejects(
          pool.apply(tasks.add, [1, 2], { timout: 5 } as never),
          TypeError,
          /^Cannot apply add: unknown option "timout" \(did you mean "timeout"\?\); it takes \{ signal, timeout \}$/,
        );
        await rejects(
          pool.map(tasks.square, [1], { chunkSize: 1 } as never),
          TypeError,
          /^Cannot map square: unknown option "chunkSize" \(did you mean "chunksize"\?\); it takes \{ chunksize, signal, timeout, onProgress \}$/,
        );
        await rejects(
          pool.starmap(tasks.add, [[1, 2]], { onprogress: () => {} } as never),
          TypeError,
          /^Cannot starmap add: unknown option "onprogress" \(did you mean "onProgress"\?\)/,
        );
        throws(
          () => pool.imap(tasks.square, [1], { timeout: 5 } as never),
          TypeError,
          /^Cannot imap square: unknown option "timeout"; it takes \{ chunksize, signal \}$/,
        );
        throws(
          () => pool.imapUnordered(tasks.square, [1], { sigal: undefined } as never),
          TypeError,
          /^Cannot imapUnordered square: unknown option "sigal" \(did you mean "signal"\?\)/,
        );
        equal(await pool.apply(tasks.add, [1, 2], { timeout: PATIENCE_MS }), 3, 'the right names still work');
      });
    });

    t.it('bad input gets a clear error', async () => {
      throws(() => new Pool({ kind, size: 0 }), RangeError, /size must be an integer from 1 and up, got `0` \(number\)/);
      throws(() => new Pool({ kind, size: -2 }), RangeError, /got `-2`/);
      throws(() => new Pool({ kind, size: 1.5 }), RangeError, /size must be an integer/);
      throws(() => new Pool({ kind, size: '2' as never }), TypeError, /size must be an integer/);
      throws(() => new Pool({ kind: 'fiber' as never }), TypeError, /kind must be 'thread' or 'process'/);
      throws(() => new Pool({ kind, maxTasksPerChild: 0 }), RangeError, /maxTasksPerChild/);
      throws(() => new Pool({ kind, maxQueue: -1 }), RangeError, /maxQueue/);
      throws(() => new Pool({ kind, idleTimeout: -5 }), RangeError, /idleTimeout.*>= 0/);
      throws(() => new Pool(7 as never), TypeError, /options must be an object/);
      await withPool({ size: 1 }, async (pool) => {
        await rejects(pool.map(tasks.square, [1, 2], { chunksize: 0 }), RangeError, /chunksize must be an integer from 1 and up, got `0`/);
        await rejects(pool.map(tasks.square, 42 as never), TypeError, /items must be an iterable/);
        await rejects(pool.starmap(tasks.add, [[1, 2], 3] as never), TypeError, /each item must be an array of arguments, got `3` \(number\) at items\[1\]/);
        throws(() => pool.imap(tasks.square, 5 as never), TypeError, /items must be an iterable or an async iterable/);
        throws(() => pool.imap(tasks.square, [1], { chunksize: -1 }), RangeError, /chunksize/);
        await rejects(pool.apply(tasks.add, 'ab' as never), TypeError, /args must be an array/);
        await rejects(pool.apply(42 as never, []), TypeError, /target must be a task from taskModule\(\) or a function/);
        await rejects(pool.apply(tasks.add, [1, 2], { timeout: -1 }), RangeError, /timeout/);
        await rejects(pool.apply(tasks.add, [1, 2], { signal: 'stop' as never }), TypeError, /signal must be an AbortSignal/);
        equal(await pool.apply(tasks.add, [1, 2]), 3, 'the pool is fine after all that');
      });
    });
  });
}
