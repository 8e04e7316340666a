/**
 * The conformance suite's section on faults and mistakes: an explicit `exit(n)` is an ending,
 * not an exception; shared memory never silently becomes a copy in another process; and bad
 * input is refused where it is given, with a named error that says what to do.
 */
import {
  Barrier,
  BoundedSemaphore,
  Condition,
  DataCloneError,
  Event,
  JoinableQueue,
  Lock,
  Pipe,
  Queue,
  RLock,
  Semaphore,
  SimpleQueue,
  WorkerExitError,
  InvalidStateError,
  Playlist,
  Process,
  TaskError,
  Thread,
  UnsupportedError,
  exit,
  renderTimeline,
  setExcepthook,
  taskModule,
  type WorkerKind,
} from '../index.js';
import { kindName, sleepFor, spawner } from './helpers.js';
import { deepEqual, equal, match, rejects, throws } from './assert.js';
import type { TestApi } from './index.js';

/** An error class, as the rows name it. */
type ErrorClass = abstract new (message: string) => Error;

const faultTasks = taskModule<typeof import('./fixtures/fault-tasks.js')>(new URL('./fixtures/fault-tasks.js', import.meta.url));

/** Registers the fault tests for one worker kind. */
export function faultsSuite(t: TestApi, kind: WorkerKind): void {
  const Kind = kindName(kind);
  const spawn = spawner(kind);

  t.describe(`Faults and mistakes, on a ${Kind}`, () => {
    t.it('exit(0) inside a task is a normal end: exit code 0, no error, nothing reported', async () => {
      const reports: string[] = [];
      setExcepthook(({ thread, error }) => reports.push(`${thread.name}: ${error.message}`));
      try {
        const w = spawn({ target: faultTasks.exitWith, args: [0] });
        await w.join();
        // A report is made on a 0 ms timer set as the worker ends: a later timer runs after it.
        await sleepFor(50);
        equal(w.exitCode, 0);
        equal(w.error, undefined);
        equal(await w.result(), undefined);
        deepEqual(reports, []);
      } finally {
        setExcepthook(undefined);
      }
    });

    t.it('exit(3) inside a task: exit code 3, result() throws WorkerExitError, and it is not reported as an exception', async () => {
      const reports: string[] = [];
      setExcepthook(({ thread, error }) => reports.push(`${thread.name}: ${error.message}`));
      try {
        const w = spawn({ target: faultTasks.exitWith, args: [3] });
        await w.join();
        await sleepFor(50);
        deepEqual(reports, [], 'an explicit exit is not an exception');
        equal(w.exitCode, 3);
        const error = await rejects(w.result(), WorkerExitError, /exited with code 3 while running exitWith/);
        equal((error as WorkerExitError).exitCode, 3);
      } finally {
        setExcepthook(undefined);
      }
    });

    t.it('bad input inside a worker is refused with the same named errors', async () => {
      const queue = new Queue<number>();
      const w = spawn({ target: faultTasks.badInputInWorker, args: [queue] });
      const out = await w.result();
      match(out[0], /^TypeError: Cannot create Semaphore: value must be an integer from 0 and up, got `"3"` \(string\)$/);
      match(out[1], /^TypeError: Cannot create Lock: it takes no arguments/);
      match(out[2], /^TypeError: Cannot create Barrier: parties must be an integer from 1 and up, got `"3"` \(string\)$/);
      match(out[3], /^TypeError: Cannot put on Queue: block must be a boolean/);
      match(out[4], /^TypeError: Cannot get from Queue: unknown option "timout" \(did you mean "timeout"\?\)/);
    });

    t.it('a release the semaphore refuses is never dropped: it throws where it is made, or, through a proxy, ends the task as an escaped error', async () => {
      const sem = new Semaphore(5);
      const w = spawn({ target: faultTasks.releaseTooMany, args: [sem] });
      const error = await rejects(w.result(), TaskError, /would exceed 2147483647/);
      equal((error as TaskError).remoteName, 'RangeError');
      equal(sem.value, 5, 'nothing was added');
    });

    t.it('an item that cannot be sent to a queue is refused where it is put, naming it', async () => {
      const w = spawn({ target: faultTasks.putFunction, args: [new Queue()] });
      match(await w.result(), /^DataCloneError: (Cannot put on Queue: )?item: function/);
    });

    // Where there is no shared memory (a page without cross-origin isolation), there is none to refuse.
    if (kind === 'process' && typeof (globalThis as { SharedArrayBuffer?: unknown }).SharedArrayBuffer === 'function') {
      t.it("shared memory in a Process's args is refused at start(), naming the argument, never sent as a silent copy", async () => {
        const sab = new SharedArrayBuffer(8);
        for (const [args, path] of [
          [[1, { buf: sab }], 'args[1].buf'],
          [[new Int32Array(sab)], 'args[0]'],
          [[new Map([['k', new DataView(sab)]])], 'args[0].get("k")'],
        ] as const) {
          const error = throws(() => spawn({ target: faultTasks.exitWith, args: args as never }), DataCloneError);
          match(error.message, new RegExp(`${path.replace(/[.[\]()]/g, '\\$&')} is shared memory .* cannot reach another process.* Queue or a Pipe`));
          equal((error as DataCloneError).path, path);
        }
      });
    }
  });
}

/** Bad input to constructors and methods, refused on the main thread (kind-independent). */
export function badInputSuite(t: TestApi): void {
  t.describe('Bad input is refused with a named error that says what to do', () => {
    const rows: [string, () => unknown, ErrorClass, RegExp][] = [
      [
        "new Semaphore('3')",
        () => new Semaphore('3' as never),
        TypeError,
        /Cannot create Semaphore: value must be an integer from 0 and up, got `"3"` \(string\)/,
      ],
      [
        'new Semaphore(null)',
        () => new Semaphore(null as never),
        TypeError,
        /Cannot create Semaphore: value must be an integer from 0 and up, got `null` \(null\)/,
      ],
      ['new Semaphore(1.5)', () => new Semaphore(1.5), RangeError, /value must be an integer from 0 and up, got `1.5`/],
      ['new BoundedSemaphore(-2)', () => new BoundedSemaphore(-2), RangeError, /Cannot create BoundedSemaphore: value must be an integer from 0 and up/],
      [
        'new Semaphore(1, { robut: true })',
        () => new Semaphore(1, { robut: true } as never),
        TypeError,
        /unknown option "robut" \(did you mean "robust"\?\); it takes \{ robust, maxHolders \}/,
      ],
      ["new Semaphore(1, { robust: 'yes' })", () => new Semaphore(1, { robust: 'yes' as never }), TypeError, /robust must be a boolean/],
      [
        'Semaphore(5).release(2 ** 31 - 1)',
        () => new Semaphore(5).release(2 ** 31 - 1),
        RangeError,
        /Cannot release Semaphore: value 5 \+ 2147483647 would exceed 2147483647/,
      ],
      ['Semaphore(1).release(0)', () => new Semaphore(1).release(0), RangeError, /Cannot release Semaphore: n must be an integer from 1 and up, got `0`/],
      ["Semaphore(1).release('2')", () => new Semaphore(1).release('2' as never), TypeError, /n must be an integer from 1 and up, got `"2"` \(string\)/],
      [
        "new Lock('x')",
        () => new Lock('x' as never),
        TypeError,
        /Cannot create Lock: it takes no arguments \(as Python's Lock\(\) takes none\), got `"x"` \(string\)/,
      ],
      ['new Lock({})', () => new Lock({} as never), TypeError, /Cannot create Lock: it takes no arguments/],
      ['new RLock(1)', () => new RLock(1 as never), TypeError, /Cannot create RLock: it takes no arguments/],
      ["new Event('x')", () => new Event('x' as never), TypeError, /Cannot create Event: it takes no arguments/],
      ["new Barrier('3')", () => new Barrier('3' as never), TypeError, /Cannot create Barrier: parties must be an integer from 1 and up, got `"3"` \(string\)/],
      [
        'new Barrier(2, { timout: 5 })',
        () => new Barrier(2, { timout: 5 } as never),
        TypeError,
        /Cannot create Barrier: unknown option "timout" \(did you mean "timeout"\?\)/,
      ],
      ['new Condition(new Event())', () => new Condition(new Event() as never), TypeError, /Cannot create Condition: lock must be a Lock or RLock/],
      [
        'new Condition(undefined, { maxWaiter: 3 })',
        () => new Condition(undefined, { maxWaiter: 3 } as never),
        TypeError,
        /unknown option "maxWaiter" \(did you mean "maxWaiters"\?\)/,
      ],
      [
        'new Queue({ maxsiz: 5 })',
        () => new Queue({ maxsiz: 5 } as never),
        TypeError,
        /Cannot create Queue: unknown option "maxsiz" \(did you mean "maxsize"\?\); it takes \{ maxsize, bytes \}/,
      ],
      ["new Queue('3')", () => new Queue('3' as never), TypeError, /Cannot create Queue: options must be \{ maxsize, bytes \} or a maxsize, got `"3"`/],
      ['new Queue({ maxsize: -1 })', () => new Queue({ maxsize: -1 }), RangeError, /maxsize must be an integer >= 0/],
      ['new JoinableQueue({ size: 3 })', () => new JoinableQueue({ size: 3 } as never), TypeError, /Cannot create JoinableQueue: unknown option "size"/],
      [
        'new SimpleQueue({ maxsize: 5 })',
        () => new SimpleQueue({ maxsize: 5 } as never),
        TypeError,
        /Cannot create SimpleQueue: a SimpleQueue is unbounded and takes no maxsize; use a Queue\(\{ maxsize \}\)/,
      ],
      ['Pipe({ duplx: false })', () => Pipe({ duplx: false } as never), TypeError, /Cannot create a Pipe: unknown option "duplx" \(did you mean "duplex"\?\)/],
      ["Pipe({ bytes: '1k' })", () => Pipe({ bytes: '1k' as never }), TypeError, /Cannot create a Pipe: bytes must be an integer from 64 to 1073741824/],
    ];
    const started = new Thread({ target: faultTasks.exitWith, args: [0] });
    const unstarted = new Thread({ target: faultTasks.exitWith, args: [0] });
    const report = { mode: 'threads' as const, elapsed: 1, timeline: [{ title: 't', worker: 'Thread-1', start: 0, end: 1 }] };
    rows.push(
      [
        'new Thread({ tagret })',
        () => new Thread({ tagret: faultTasks.exitWith } as never),
        TypeError,
        /Cannot create a Thread: unknown option "tagret" \(did you mean "target"\?\); it takes \{ target, args, name, daemon \}/,
      ],
      [
        'new Process({ deamon: true })',
        () => new Process({ deamon: true } as never),
        TypeError,
        /Cannot create a Process: unknown option "deamon" \(did you mean "daemon"\?\)/,
      ],
      ["cond.notify('1')", () => new Condition().notify('1' as never), TypeError, /Cannot notify Condition: n must be an integer from 0 and up, got `"1"`/],
      ['setExcepthook(5)', () => setExcepthook(5 as never), TypeError, /Cannot set the excepthook: it must be a function/],
      ['renderTimeline(5)', () => renderTimeline(5 as never), TypeError, /Cannot render the timeline: report must be what Playlist.play\(\) resolved with/],
      [
        'renderTimeline(report, { widht: 40 })',
        () => renderTimeline(report, { widht: 40 } as never),
        TypeError,
        /unknown option "widht" \(did you mean "width"\?\)/,
      ],
      ['renderTimeline(report, { width: -3 })', () => renderTimeline(report, { width: -3 }), RangeError, /width must be an integer from 1 and up, got `-3`/],
      [
        'thread.start() twice',
        () => {
          try {
            started.start();
          } catch {}
          started.start();
        },
        InvalidStateError,
        /Cannot start Thread-\d+: a thread can only be started once; create a new one/,
      ],
      ['lock.release() when not held', () => new Lock().release(), InvalidStateError, /Cannot release Lock: it is not held/],
      ['rlock.release() when not held', () => new RLock().release(), InvalidStateError, /Cannot release RLock: it is not held by this thread/],
      ['cond.notify() without its lock', () => new Condition().notify(), InvalidStateError, /its lock is not held by this thread; acquire it first/],
      ['exit(3) on the main thread', () => exit(3), InvalidStateError, /Cannot exit: exit\(\) ends a threadkit worker, so call it inside a task/],
      [
        'a closed pipe end: send(1)',
        () => {
          const [a] = Pipe();
          a.close();
          a.send(1);
        },
        InvalidStateError,
        /it is closed/,
      ],
      ['the receiving end of a one-way pipe: send(1)', () => Pipe({ duplex: false })[0].send(1), UnsupportedError, /receiving end of a one-way pipe/],
    );
    for (const [call, fn, cls, pattern] of rows) {
      t.it(`${call} throws ${cls.name}`, () => {
        throws(fn, cls, pattern);
      });
    }

    const asyncRows: [string, () => Promise<unknown>, ErrorClass, RegExp][] = [
      [
        "queue.put(x, { block: 'no' })",
        () => new Queue().put(1, { block: 'no' as never }),
        TypeError,
        /Cannot put on Queue: block must be a boolean \(false: do not wait\), got `"no"`/,
      ],
      [
        'queue.get({ blocking: false })',
        () => new Queue().get({ blocking: false } as never),
        TypeError,
        /Cannot get from Queue: unknown option "blocking" \(did you mean "block"\?\)/,
      ],
      [
        'lock.acquire({ timout: 5 })',
        () => new Lock().acquire({ timout: 5 } as never),
        TypeError,
        /Cannot acquire Lock: unknown option "timout" \(did you mean "timeout"\?\); it takes \{ timeout, signal, blocking \}/,
      ],
      ["lock.acquire({ blocking: 'no' })", () => new Lock().acquire({ blocking: 'no' as never }), TypeError, /blocking must be a boolean/],
      [
        'event.wait({ blocking: false })',
        () => new Event().wait({ blocking: false } as never),
        TypeError,
        /Cannot wait for Event: unknown option "blocking"; it takes \{ timeout, signal \}/,
      ],
      [
        'semaphore.acquire({ timeout: -1 })',
        () => new Semaphore(0).acquire({ timeout: -1 }),
        RangeError,
        /timeout must be a number of milliseconds >= 0, got -1/,
      ],
      ['barrier.wait({ signal: 5 })', () => new Barrier(2).wait({ signal: 5 as never }), TypeError, /signal must be an AbortSignal/],
      [
        "lock.withLock('x')",
        () => new Lock().withLock('x' as never),
        TypeError,
        /Cannot run withLock on Lock: fn must be the function to run holding it, got `"x"`/,
      ],
      ["cond.waitFor('x')", () => new Condition().waitFor('x' as never), TypeError, /predicate must be a function/],
      ["semaphore.withLock('x')", () => new Semaphore(1).withLock('x' as never), TypeError, /fn must be the function to run holding a permit/],
      ['thread.join() before start()', () => unstarted.join(), InvalidStateError, /has not been started; call start\(\) first/],
      ['thread.result() before start()', () => unstarted.result(), InvalidStateError, /has not been started; call start\(\) first/],
      ['cond.wait() without its lock', () => new Condition().wait(), InvalidStateError, /its lock is not held by this thread/],
      [
        "playlist.play({ mod: 'threads' })",
        () => new Playlist([]).play({ mod: 'threads' } as never),
        TypeError,
        /Cannot play: unknown option "mod" \(did you mean "mode"\?\)/,
      ],
    ];
    for (const [call, fn, cls, pattern] of asyncRows) {
      t.it(`${call} rejects with ${cls.name}`, async () => {
        await rejects(fn(), cls, pattern);
      });
    }
  });
}
