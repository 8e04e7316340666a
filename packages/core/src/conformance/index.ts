/**
 * The conformance suite: the behaviour of the public API, written once and run by every
 * adapter on its real runtime (vitest on Node and in Chromium, `deno test` under Deno).
 * An adapter imports itself first (which installs its runtime), then calls {@link conformance}.
 */
import {
  Barrier,
  DataCloneError,
  Event,
  Playlist,
  Process,
  TaskError,
  TaskNotFoundError,
  Thread,
  TimeoutError,
  WorkerExitError,
  WorkerStartError,
  activeChildren,
  currentThread,
  renderTimeline,
  setExcepthook,
  taskModule,
  type BaseThread,
  type ThreadOptions,
  type WorkerKind,
  type Transport,
} from '../index.js';
import { syncSuite } from './sync.js';
import { PATIENCE_MS, fixturesUrl, sleepFor, tasks } from './helpers.js';
import { ipcSuite } from './ipc.js';
import { poolSuite } from './pool.js';
import { badInputSuite, faultsSuite } from './faults.js';
import { noSharedMemorySuite, sharedMemoryAvailable } from './memory.js';
export { checkExactlyOnce } from './ipc.js';
import type { AnyFunction } from '../task.js';
import { deepEqual, equal, match, ok, rejects, throws } from './assert.js';

export { AssertionError, deepEqual, equal, match, ok, rejects, throws } from './assert.js';

/** The slice of a test runner the suite needs. */
export interface TestApi {
  describe(name: string, fn: () => void): void;
  it(name: string, fn: () => Promise<void> | void): void;
}

/** What to run the suite on. */
export interface ConformanceOptions {
  /** The worker kinds to cover. @default ['thread', 'process'] */
  readonly kinds?: readonly WorkerKind[];
  /** The transports to run thread tests on. @default ['shared', 'message'] */
  readonly transports?: readonly Transport[];
}

export { PATIENCE_MS, fixturesUrl } from './helpers.js';
const broken = taskModule<{ never(): void }>(new URL('./fixtures/broken.js', import.meta.url));

/** Registers every conformance test with the given runner. */
export function conformance(t: TestApi, options: ConformanceOptions = {}): void {
  const kinds = options.kinds ?? ['thread', 'process'];
  for (const kind of kinds) lifecycle(t, kind);
  for (const kind of kinds) playlist(t, kind);
  for (const kind of kinds) poolSuite(t, kind);
  for (const kind of kinds) faultsSuite(t, kind);
  badInputSuite(t);
  for (const kind of kinds) {
    // Threads run every test on both transports; a process shares no memory, so 'auto' is its only one.
    const transports: readonly Transport[] = kind === 'thread' ? (options.transports ?? ['shared', 'message']) : ['auto'];
    for (const transport of transports) {
      if (transport === 'shared' && !sharedMemoryAvailable()) {
        // Cannot apply here: say why, check the fallback, and make sure the message transport runs.
        noSharedMemorySuite(t, kind);
        if (transports.includes('message')) continue;
        syncSuite(t, kind, 'message');
        ipcSuite(t, kind, 'message');
        continue;
      }
      syncSuite(t, kind, transport);
      ipcSuite(t, kind, transport);
    }
  }
}

function make<F extends AnyFunction>(kind: WorkerKind, options: ThreadOptions<F>): Thread<F> | Process<F> {
  return kind === 'process' ? new Process<F>(options) : new Thread<F>(options);
}

function lifecycle(t: TestApi, kind: WorkerKind): void {
  const Kind = kind === 'process' ? 'Process' : 'Thread';
  const spawn = <F extends AnyFunction>(options: ThreadOptions<F>): BaseThread<F> => {
    const w = make(kind, options);
    w.start();
    return w;
  };

  t.describe(`${Kind}: lifecycle`, () => {
    t.it('start() runs the target and result() returns its value; exitCode becomes 0', async () => {
      const w = make(kind, { target: tasks.add, args: [2, 3] });
      equal(w.isAlive(), false, 'alive before start');
      equal(w.exitCode, null, 'exitCode before start');
      w.start();
      equal(w.isAlive(), true, 'alive after start');
      equal(await w.result(), 5);
      equal(w.isAlive(), false, 'alive after the end');
      equal(w.exitCode, 0);
      equal(w.error, undefined);
    });

    t.it('structured-clone values travel both ways intact', async () => {
      const value = {
        n: 1,
        big: 2n ** 70n,
        when: new Date(0),
        map: new Map([['k', new Set([1, 2])]]),
        bytes: new Uint8Array([1, 2, 3]),
        nested: [{ a: null }],
      };
      const w = spawn({ target: tasks.roundTrip, args: [value] });
      deepEqual(await w.result(), value);
    });

    t.it('start() twice throws', async () => {
      const w = spawn({ target: tasks.add, args: [1, 1] });
      throws(() => w.start(), Error, /can only be started once/);
      await w.join();
      throws(() => w.start(), Error, /can only be started once/);
    });

    t.it('has a default name, a custom name and an ident once started', async () => {
      const a = make(kind, { target: tasks.add, args: [1, 1] });
      equal(a.ident, undefined, 'ident before start');
      a.start();
      match(a.name, new RegExp(`^${Kind}-\\d+$`));
      ok(typeof a.ident === 'number', 'ident after start');
      const b = spawn({ target: tasks.add, args: [1, 1], name: 'player-1' });
      equal(b.name, 'player-1');
      await Promise.all([a.join(), b.join()]);
    });

    t.it('currentThread() inside a task names the worker; activeChildren() lists it while alive', async () => {
      const w = spawn({ target: tasks.whoAmI, args: [], name: 'who' });
      ok(activeChildren().includes(w), 'listed while alive');
      deepEqual(await w.result(), { name: 'who', kind, ident: w.ident });
      ok(!activeChildren().includes(w), 'gone once ended');
      deepEqual(currentThread(), { name: 'MainThread', kind: 'main', ident: undefined });
    });

    t.it('join(timeout) resolves false while it runs and true once it ends', async () => {
      // It runs until told to end, however long its start or the join's timer takes.
      const end = new Event();
      const w = spawn({ target: tasks.waitEvent, args: [end] });
      equal(await w.join(20), false);
      equal(w.isAlive(), true);
      equal(w.exitCode, null, 'exitCode while running');
      end.set();
      equal(await w.join(), true);
      equal(w.isAlive(), false);
      equal(await w.join(0), true, 'join after the end');
    });

    t.it('join() and result() before start() reject with a clear error', async () => {
      const w = make(kind, { target: tasks.add, args: [1, 1] });
      await rejects(w.join(), Error, /has not been started/);
      await rejects(w.result(), Error, /has not been started/);
    });

    t.it('join() and result() reject a negative, NaN or non-number timeout', async () => {
      const w = spawn({ target: tasks.add, args: [1, 1] });
      await rejects(w.join(-1), RangeError, /timeout must be .*>= 0, got -1/);
      await rejects(w.join(Number.NaN), RangeError, /got NaN/);
      await rejects(w.join('10' as unknown as number), TypeError, /timeout must be a number/);
      await rejects(w.result(-5), RangeError, /got -5/);
      await rejects(w.result({} as unknown as number), TypeError, /timeout must be a number/);
      equal(await w.result(), 2);
    });

    t.it('a task that throws: result() rejects with TaskError carrying the remote class name, code, cause and stack', async () => {
      const w = spawn({ target: tasks.fail, args: ['歌曲1'] });
      const error = await rejects(w.result(), TaskError, /PlayerError: cannot play 歌曲1/);
      const cause = error.cause as Error & { code?: string; track?: string };
      equal(cause.name, 'PlayerError');
      equal(cause.message, 'cannot play 歌曲1');
      equal(cause.code, 'E_PLAYER');
      equal(cause.track, '歌曲1');
      ok(cause.cause instanceof Error, 'the cause of the cause is an Error');
      equal((cause.cause as Error).name, 'RangeError');
      match(cause.stack, /fail/, 'remote stack names the throwing function');
      match(error.stack, /fail/, "TaskError's stack includes the remote stack");
      equal(w.exitCode, 1);
      equal(w.error, error);
      equal(await w.join(), true, 'join resolves after a failure');
    });

    t.it('an async task that rejects fails the same way', async () => {
      const w = spawn({ target: tasks.failAsync, args: ['视频2'] });
      const error = await rejects(w.result(), TaskError, /cannot play 视频2/);
      equal((error as TaskError).remoteName, 'PlayerError');
    });

    t.it('a task that throws a non-Error value fails with a TaskError that shows the value', async () => {
      const w = spawn({ target: tasks.throwString, args: [] });
      await rejects(w.result(), TaskError, /non-Error value was thrown: a plain string/);
      equal(w.exitCode, 1);
    });

    t.it('exit(n) inside a task ends the worker with exitCode n and the result rejects with WorkerExitError', async () => {
      const w = spawn({ target: tasks.exitWith, args: [3] });
      const error = await rejects(w.result(), WorkerExitError, /exited with code 3 while running exitWith/);
      equal((error as WorkerExitError).exitCode, 3);
      equal(w.exitCode, 3);
    });

    t.it('terminate() mid-task: exitCode -15, the pending result rejects, join resolves', async () => {
      const running = new Event();
      const w = spawn({ target: tasks.signalThenForever, args: [running] });
      const result = w.result();
      equal(await running.wait({ timeout: PATIENCE_MS }), true, 'the task runs');
      await w.terminate();
      equal(w.exitCode, -15);
      equal(w.isAlive(), false);
      const error = await rejects(result, WorkerExitError, /was terminated while running signalThenForever/);
      equal((error as WorkerExitError).exitCode, -15);
      equal(await w.join(), true);
      await w.terminate(); // a second terminate is harmless
    });

    t.it('terminate() before start and after the end does nothing', async () => {
      const w = make(kind, { target: tasks.add, args: [1, 2] });
      await w.terminate();
      equal(w.exitCode, null);
      w.start();
      equal(await w.result(), 3);
      await w.terminate();
      equal(w.exitCode, 0);
    });

    t.it('result(timeout) on a task that never returns throws TimeoutError and leaves it terminable', async () => {
      const w = spawn({ target: tasks.forever, args: [] });
      await rejects(w.result(100), TimeoutError, /did not finish within 100 ms/);
      equal(w.isAlive(), true);
      await w.terminate();
      equal(w.exitCode, -15);
    });

    t.it('an unknown export fails with TaskNotFoundError listing the exported functions', async () => {
      const w = spawn({ target: (tasks as unknown as Record<string, typeof tasks.add>).nope!, args: [1, 2] });
      const error = await rejects(w.result(), TaskNotFoundError, /no exported function `nope`/);
      ok((error as TaskNotFoundError).exports.includes('add'), 'exports lists add');
      match(error.message, /`add`.*`sleep`/);
    });

    t.it('a module that fails to load fails with WorkerStartError carrying the loader message', async () => {
      const w = spawn({ target: broken.never, args: [] });
      await rejects(w.result(), WorkerStartError, /module failed to load: SyntaxError: broken on purpose while loading/);
      equal(w.exitCode, 1);
    });

    t.it('a module that does not exist fails with WorkerStartError naming it', async () => {
      const missing = taskModule<{ f(): void }>(new URL('./fixtures/missing.js', fixturesUrl));
      const w = spawn({ target: missing.f, args: [] });
      await rejects(w.result(), WorkerStartError, /failed to load/);
    });

    t.it('arguments that cannot be cloned: start() throws DataCloneError naming the argument', async () => {
      const w = make(kind, { target: tasks.echo, args: [{ title: 'x', cb: () => 1 }] as never });
      const error = throws(() => w.start(), DataCloneError, /args\[0\]\.cb: function/);
      equal((error as DataCloneError).path, 'args[0].cb');
      equal(w.isAlive(), false);
      throws(() => w.start(), Error, /only be started once/);
    });

    t.it('a result that cannot be cloned fails with DataCloneError naming the result', async () => {
      const w = spawn({ target: tasks.returnsFunction, args: [] });
      await rejects(w.result(), DataCloneError, /result: function/);
    });

    t.it('an uncaught error while a task runs ends the worker with exitCode 1; the task rejects with its stack', async () => {
      const w = spawn({ target: tasks.uncaughtWhileRunning, args: [] });
      const error = await rejects(w.result(), TaskError, /TypeError: thrown from a timer/);
      equal(w.exitCode, 1);
      equal(w.error, error);
      // tasks.js, or tasks.ts where the runtime applies source maps to stacks (Deno does).
      match((error as TaskError).remoteStack, /tasks\.[jt]s/);
    });

    t.it('an unhandled rejection in the worker ends it with exitCode 1', async () => {
      const w = spawn({ target: tasks.rejectLater, args: [] });
      await rejects(w.result(), TaskError, /URIError: nobody handled me/);
      equal(w.exitCode, 1);
    });

    t.it('an inline function runs as source text', async () => {
      const w = spawn({ target: (a: number, b: number) => a * b, args: [6, 7] });
      equal(await w.result(), 42);
    });

    t.it('an inline function that uses an outer variable fails with an error that says so', async () => {
      // `let`: Bun's transpiler folds a `const` bound to a literal into the function, which then
      // needs no outer variable (packages/node/test/bun/bun.test.ts shows that).
      // biome-ignore lint/style/useConst: a const would be folded by Bun, and the test would not test
      let factor = 3;
      const w = spawn({
        target: function scaled(a: number) {
          return a * factor;
        },
        args: [2],
      });
      await rejects(w.result(), TaskError, /factor is not defined: inline target `scaled` .*cannot use variables from the scope/);
    });

    t.it('bad constructor input throws a TypeError that names it', () => {
      throws(() => make(kind, { target: 42 as never }), TypeError, /target must be a task from taskModule\(\) or a function, got `42` \(number\)/);
      throws(() => make(kind, { target: tasks.add, args: 'ab' as never }), TypeError, /args must be an array/);
      throws(() => make(kind, { daemon: 'yes' as never }), TypeError, /daemon must be a boolean/);
      throws(() => make(kind, { name: 7 as never }), TypeError, /name must be a string/);
    });

    t.it('daemon is set before start and read-only after', async () => {
      const w = make(kind, { target: tasks.add, args: [1, 1] });
      w.daemon = true;
      equal(w.daemon, true);
      w.start();
      throws(
        () => {
          w.daemon = false;
        },
        Error,
        /already been started/,
      );
      await w.join();
    });

    t.it('a subclass overrides run() and invokes tasks in its worker (E5 MyThread)', async () => {
      // The seed's MyThread: func, args and name in the constructor; run() calls func(*args).
      async function body(self: { func: typeof tasks.add; funcArgs: [number, number] }, invoke: (task: unknown, ...args: unknown[]) => Promise<unknown>) {
        const first = await invoke(self.func, ...self.funcArgs);
        const calls = [await invoke(tasks.count), await invoke(tasks.count)];
        return { first, calls };
      }
      class MyThread extends Thread {
        constructor(
          readonly func: typeof tasks.add,
          readonly funcArgs: [number, number],
          name = '',
        ) {
          super({ name });
        }
        protected override run(): Promise<unknown> {
          return body(this, (task, ...args) => this.invoke(task as typeof tasks.add, ...(args as [number, number])));
        }
      }
      class MyProcess extends Process {
        constructor(
          readonly func: typeof tasks.add,
          readonly funcArgs: [number, number],
          name = '',
        ) {
          super({ name });
        }
        protected override run(): Promise<unknown> {
          return body(this, (task, ...args) => this.invoke(task as typeof tasks.add, ...(args as [number, number])));
        }
      }
      const w = kind === 'process' ? new MyProcess(tasks.add, [20, 22], 'add') : new MyThread(tasks.add, [20, 22], 'add');
      w.start();
      equal(w.name, 'add');
      deepEqual(await w.result(), { first: 42, calls: [1, 2] });
      equal(w.exitCode, 0);
    });

    t.it('an unobserved failure is reported once; an observed one is not', async () => {
      const reports: string[] = [];
      setExcepthook(({ thread, error }) => reports.push(`${thread.name}: ${error.message}`));
      try {
        const unobserved = spawn({ target: tasks.fail, args: ['a'], name: 'unobserved' });
        const observed = spawn({ target: tasks.fail, args: ['b'], name: 'observed' });
        await rejects(observed.result(), TaskError);
        await unobserved.join();
        // The report is made on a 0 ms timer set as the thread ends: a longer timer set after it runs after it.
        await sleepFor(30);
        deepEqual(reports, ['unobserved: PlayerError: cannot play a']);
      } finally {
        setExcepthook(undefined);
      }
    });
  });
}

function playlist(t: TestApi, kind: WorkerKind): void {
  const mode = kind === 'process' ? 'processes' : 'threads';
  const overlaps = (a: { start: number; end: number }, b: { start: number; end: number }) => a.start < b.end && b.start < a.end;

  t.describe(`Playlist on ${mode}`, () => {
    t.it(`plays entries concurrently on ${mode}: every pair of bars overlaps, each on its own worker`, async () => {
      // The entries meet at a barrier before they sleep: they can only finish by running at the same time.
      const meet = new Barrier(3);
      const list = new Playlist([
        { title: '歌曲1', task: tasks.meetThenSleep, args: [meet, 100, 'a'] },
        { title: '视频2', task: tasks.meetThenSleep, args: [meet, 100, 'b'] },
        { title: '歌曲3', task: tasks.meetThenSleep, args: [meet, 200, 'c'] },
      ]);
      const report = await list.play({ mode });
      equal(report.mode, mode);
      deepEqual(
        report.timeline.map((e) => e.result),
        ['a', 'b', 'c'],
      );
      equal(new Set(report.timeline.map((e) => e.worker)).size, 3, 'one worker per entry');
      const [a, b, c] = report.timeline as [(typeof report.timeline)[0], (typeof report.timeline)[0], (typeof report.timeline)[0]];
      ok(overlaps(a, b) && overlaps(b, c) && overlaps(a, c), `bars overlap: ${JSON.stringify(report.timeline)}`);
      ok(report.elapsed >= c.end, 'elapsed covers the last end');
      const chart = renderTimeline(report, { width: 30 });
      match(chart, /歌曲3/);
      match(chart, new RegExp(`${mode}: total`));
    });

    if (kind === 'thread') {
      t.it('plays sequentially in one worker: no two bars overlap, in order', async () => {
        const list = new Playlist([
          { title: 'music', task: tasks.sleep, args: [120, 1] },
          { title: 'movie', task: tasks.sleep, args: [120, 2] },
          { title: 'again', task: tasks.add, args: [1, 2] },
        ]);
        const report = await list.play({ mode: 'sequential' });
        deepEqual(
          report.timeline.map((e) => e.result),
          [1, 2, 3],
        );
        equal(new Set(report.timeline.map((e) => e.worker)).size, 1, 'one worker');
        for (let i = 1; i < report.timeline.length; i++) {
          ok(report.timeline[i]!.start >= report.timeline[i - 1]!.end, `entry ${i} starts after entry ${i - 1} ends`);
        }
      });

      t.it('with concurrency 2, three entries use two workers and the third waits for a free one', async () => {
        // a and b meet at a barrier, so they can only finish by running at the same time.
        const meet = new Barrier(2);
        const list = new Playlist([
          { title: 'a', task: tasks.meetThenSleep, args: [meet, 50] },
          { title: 'b', task: tasks.meetThenSleep, args: [meet, 50] },
          { title: 'c', task: tasks.sleep, args: [50] },
        ]);
        const report = await list.play({ mode: 'threads', concurrency: 2 });
        equal(new Set(report.timeline.map((e) => e.worker)).size, 2);
        const [a, b, c] = report.timeline as [(typeof report.timeline)[0], (typeof report.timeline)[0], (typeof report.timeline)[0]];
        ok(overlaps(a, b), 'a and b overlap');
        ok(c.start >= Math.min(a.end, b.end), 'c starts after a worker was freed');
      });

      t.it('records a failing entry with its error and still plays the rest', async () => {
        const report = await new Playlist([
          { title: 'ok', task: tasks.add, args: [1, 1] },
          { title: 'bad', task: tasks.fail, args: ['bad'] },
        ]).play({ mode: 'threads' });
        equal(report.timeline[0]!.result, 2);
        ok(report.timeline[1]!.error instanceof TaskError, 'the failure is a TaskError');
        match(renderTimeline(report), /failed: PlayerError: cannot play bad/);
      });

      t.it('rejects a bad mode or concurrency with a clear error', async () => {
        const list = new Playlist([{ title: 'a', task: tasks.add, args: [1, 1] }]);
        await rejects(list.play({ mode: 'fibers' as never }), TypeError, /mode must be 'sequential', 'threads' or 'processes'/);
        await rejects(list.play({ mode: 'threads', concurrency: 0 }), RangeError, /concurrency must be an integer from 1 and up, got `0`/);
        throws(() => new Playlist([{ title: 3, task: tasks.add, args: [1, 1] } as never]), TypeError, /entry 0 needs a string title/);
      });
    }
  });
}
