// What Bun adds to the conformance suite: threads and processes really run on Bun, TypeScript task
// modules, where Bun differs (inline targets, uncaught errors under bun test), liveness at exit
// (daemons, pools) and the demo, each program checked in a Bun process of its own.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, test } from 'bun:test';
import { Process, Thread, taskModule } from '@threadkit/node';
import { deepEqual, equal, match, ok } from '@threadkit/core/conformance';
import { LIMIT_MS } from './_test_api.ts';
import { SIGNAL_BY_DEFAULT, busyChildrenEndWithKilledParent, gone, threadEndsWithParent } from '../shared.ts';

const tasks = taskModule<typeof import('../fixtures/tasks.ts')>(new URL('../fixtures/tasks.ts', import.meta.url));
const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
const bunFixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** Runs a program under this Bun; one that outlives 20 s is killed (status null). */
function runBun(path: string, ...args: string[]) {
  return spawnSync(process.execPath, [path, ...args], { encoding: 'utf8', timeout: 20_000 });
}

describe('@threadkit/node under Bun', () => {
  test('this is Bun', () => {
    ok(typeof process.versions.bun === 'string', `process.versions.bun is ${String(process.versions.bun)}`);
  });

  test(
    'a Thread runs in this Bun process',
    async () => {
      const t = new Thread({ target: () => ({ bun: process.versions.bun, pid: process.pid }), args: [] });
      t.start();
      deepEqual(await t.result(), { bun: process.versions.bun, pid: process.pid });
    },
    LIMIT_MS,
  );

  test(
    'a Process is a Bun process of its own, with its own pid',
    async () => {
      const p = new Process({ target: () => ({ bun: process.versions.bun, pid: process.pid }), args: [] });
      p.start();
      ok(typeof p.pid === 'number' && p.pid !== process.pid, 'a pid of its own');
      deepEqual(await p.result(), { bun: process.versions.bun, pid: p.pid });
    },
    LIMIT_MS,
  );

  for (const Kind of [Thread, Process]) {
    test(
      `a ${Kind.name} loads a .ts task module (Bun runs TypeScript itself)`,
      async () => {
        const w = new Kind({ target: tasks.typed, args: [{ id: 7 }] });
        w.start();
        deepEqual(await w.result(), { id: 7, seen: true });
      },
      LIMIT_MS,
    );
  }

  // Elsewhere this fails with "factor is not defined" (core's conformance suite checks that with a
  // `let`): Bun's transpiler folds a `const` bound to a literal into the function that uses it, so the
  // source text sent to the worker holds the value itself.
  test(
    'an inline target that uses an outer const bound to a literal runs: Bun inlines the value',
    async () => {
      const factor = 3;
      const scaled = function scaled(a: number): number {
        return a * factor;
      };
      ok(!String(scaled).includes('factor'), `the source text still names factor: ${String(scaled)}`);
      const t = new Thread({ target: scaled, args: [2] });
      t.start();
      equal(await t.result(), 6);
    },
    LIMIT_MS,
  );
});

// Under bun test an escaped error reaches the parent as an 'error' event (a Pool still reports it as the task's TaskError); in a Bun program the worker handles it.
describe('a thread started by a thread, under Bun', () => {
  test('ends with its parent, and a lock it held is let go', threadEndsWithParent, LIMIT_MS);
});

describe('processes whose parent was killed, under Bun', () => {
  // Their event loops never turn, so the IPC channel's closing never reaches them.
  test(
    `end even when busy in loops that never yield (a nested one and a Pool worker too) (${SIGNAL_BY_DEFAULT ? 'the parent-death signal' : 'a watcher thread'})`,
    () => busyChildrenEndWithKilledParent(process.execPath, 'default'),
    90_000,
  );
  test(
    'the same, each child watching its parent with a thread (THREADKIT_PARENT_WATCH=thread)',
    () => busyChildrenEndWithKilledParent(process.execPath, 'thread'),
    90_000,
  );
});

describe('an error that escapes every task, in a worker thread', () => {
  test(
    "under bun test, it skips the worker's own handler and reaches the parent as an 'error' event",
    async () => {
      const w = new Worker(new URL('./fixtures/uncaught-entry.mjs', import.meta.url));
      const seen: string[] = [];
      w.on('message', (m: string) => seen.push(`message ${m}`));
      w.on('error', (e: Error) => seen.push(`error event ${e.message}`));
      const code = await new Promise<number>((resolve) => w.on('exit', resolve));
      deepEqual(seen, ['error event thrown from a timer'], 'what the parent saw');
      equal(code, 0, 'exit code');
    },
    LIMIT_MS,
  );

  test(
    'in a Bun program, the worker handles it, and a Pool rejects the task with TaskError and replaces the worker',
    () => {
      const raw = runBun(bunFixture('uncaught-worker.mjs'));
      equal(raw.stdout, 'message handled: thrown from a timer\nexit 7\n', `a bare worker (stderr: ${raw.stderr})`);
      const pool = runBun(bunFixture('pool-uncaught.mjs'));
      equal(pool.status, 0, `exit status (stderr: ${pool.stderr})`);
      equal(pool.stdout, 'TaskError: TypeError: thrown from a timer\nthen 3, crashed 1\n');
    },
    LIMIT_MS,
  );
});

describe('liveness at exit under Bun', () => {
  for (const kind of ['thread', 'process']) {
    test(
      `a daemon ${kind} running forever does not keep the program alive`,
      async () => {
        const r = runBun(fixture('liveness.mjs'), kind, 'daemon', 'forever');
        equal(r.status, 0, `exit status (stderr: ${r.stderr})`);
        match(r.stdout, /main end/);
        // A daemon process is sent SIGTERM as the program exits.
        if (kind === 'process') ok(await gone(Number(/started (\d+)/.exec(r.stdout)?.[1])), 'the daemon process is gone');
      },
      LIMIT_MS,
    );

    test(
      `awaiting join() of a daemon ${kind} keeps the program alive until it ends`,
      () => {
        const r = runBun(fixture('liveness.mjs'), kind, 'daemon', 'say');
        equal(r.status, 0, `exit status (stderr: ${r.stderr})`);
        match(r.stdout, /worker says bye\njoined true\nmain end\n/);
      },
      LIMIT_MS,
    );

    test(
      `a non-daemon ${kind} keeps the program alive until it ends, then the program exits`,
      () => {
        const r = runBun(fixture('liveness.mjs'), kind, 'normal', 'say');
        equal(r.status, 0, `exit status (stderr: ${r.stderr})`);
        match(r.stdout, /main end\n(.*\n)*worker says bye\n/);
      },
      LIMIT_MS,
    );
  }

  test(
    'a daemon process waiting on a Queue does not keep the program alive',
    async () => {
      const r = runBun(fixture('liveness.mjs'), 'process', 'daemon', 'queue');
      equal(r.status, 0, `exit status (stderr: ${r.stderr})`);
      match(r.stdout, /main end/);
      ok(await gone(Number(/started (\d+)/.exec(r.stdout)?.[1])), 'the daemon process is gone');
    },
    LIMIT_MS,
  );

  for (const kind of ['thread', 'process']) {
    test(
      `an idle Pool of ${kind === 'process' ? 'processes' : 'threads'} left open does not keep the program alive; a pending task does`,
      () => {
        const idle = runBun(fixture('pool-liveness.mjs'), kind, 'idle');
        equal(idle.status, 0, `idle: exit status (stderr: ${idle.stderr})`);
        equal(idle.stdout, 'first 49\nmain end\n');
        const pending = runBun(fixture('pool-liveness.mjs'), kind, 'pending');
        equal(pending.status, 0, `pending: exit status (stderr: ${pending.stderr})`);
        equal(pending.stdout, 'first 49\nmain end\npending task done 5\n');
      },
      LIMIT_MS,
    );
  }
});

describe('the demo under Bun', () => {
  const demo = fileURLToPath(new URL('../../../../apps/demo/', import.meta.url));

  test('bun src/main.ts runs every example (E1–E8, CPU, POOL) and names Bun', () => {
    const started = Date.now();
    const r = spawnSync(process.execPath, ['src/main.ts', '--scale', '20', '--primes', '200000'], { cwd: demo, encoding: 'utf8', timeout: 60_000 });
    equal(r.status, 0, `exit status (stderr: ${r.stderr})`);
    match(r.stdout, new RegExp(`^threadkit demo: the seed's examples on Bun ${process.versions.bun!.replace(/\./g, '\\.')}\\.`));
    for (const id of ['E1', 'E2', 'E3', 'E4', 'E5', 'E6', 'E7', 'E8', 'CPU', 'POOL']) match(r.stdout, new RegExp(`━━ ${id} ·`), `section ${id}`);
    match(r.stdout, /proc2 rec: hello\nproc1 rec: hello, too\n/);
    match(r.stdout, /check: 10 items put, 10 got, each exactly once/);
    match(r.stdout, /Done in [\d.]+ s/);
    console.log(`demo under Bun: ${Date.now() - started} ms`);
  }, 90_000);

  test(
    'its usage names the command that runs it under Bun',
    () => {
      const r = spawnSync(process.execPath, ['src/main.ts', '--only', 'E9'], { cwd: demo, encoding: 'utf8', timeout: 20_000 });
      equal(r.status, 2);
      match(r.stderr, /Usage: bun src\/main\.ts \[options\]/);
    },
    LIMIT_MS,
  );
});
