/**
 * What is Deno's own: TypeScript task modules loaded natively, Process as a real OS process,
 * liveness at exit (Web Workers keep Deno alive and have no unref), and permissions.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { Event, Lock, Process, TaskError, Thread, taskModule } from '@threadkit/deno';
import { PARENT_WATCH_ENV, SETPRIV_PATHS } from '@threadkit/core/adapter';
import { PATIENCE_MS, deepEqual, equal, match, ok } from '@threadkit/core/conformance';
import { withLimit } from './_test_api.ts';

const tasks = taskModule<typeof import('./fixtures/tasks.ts')>(new URL('./fixtures/tasks.ts', import.meta.url));
const nested = taskModule<typeof import('./fixtures/nested.ts')>(new URL('./fixtures/nested.ts', import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const packageDir = fileURLToPath(new URL('..', import.meta.url));

function test(name: string, fn: () => Promise<void> | void): void {
  Deno.test({ name, sanitizeOps: false, sanitizeResources: false, fn: () => withLimit(fn, name) });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether the process is gone within `ms` (polled: a bound for a process that never goes, not a speed check). */
async function gone(pid: number, ms = 20_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
    if (!alive(pid)) return true;
  }
  return !alive(pid);
}

/**
 * Whether the process with this pid still runs: it exists and, where /proc tells, is not a
 * zombie (a zombie has ended; only its exit status waits for whoever adopted it to reap it).
 */
function running(pid: number): boolean {
  if (!alive(pid)) return false;
  try {
    // The state follows the command name, which is in parentheses and may itself hold some.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return alive(pid);
  }
}

/** Whether the process stops running within `ms` (polled: how soon says nothing here). */
async function ends(pid: number, ms = 20_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
    if (!running(pid)) return true;
  }
  return !running(pid);
}

/** Sends SIGKILL to each pid (a negative one: each process of that group) that still exists. */
function killAll(pids: Iterable<number>): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Runs `deno run <flags> <script> <args>` in this package's directory, killed after `timeoutMs`:
 * a bound for a program that never ends, not a speed check (it runs in seconds even on a busy
 * machine; a daemon's 60 s get() timeout it must not wait for is longer).
 * Deno.Command, not node:child_process: the latter runs `deno run` with -A when given no permission flag.
 */
async function deno(flags: string[], script: string, args: string[], timeoutMs = 40_000): Promise<Run> {
  const started = performance.now();
  // A program that hangs (a worker keeping it alive) fails here instead of stalling the run.
  const command = new Deno.Command(Deno.execPath(), {
    args: ['run', '--no-prompt', ...flags, fixture(script), ...args],
    cwd: packageDir,
    stdin: 'null',
    stdout: 'piped',
    stderr: 'piped',
    signal: AbortSignal.timeout(timeoutMs),
  });
  const { code, stdout, stderr } = await command.output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr), ms: performance.now() - started };
}

const ALL = ['--allow-read', '--allow-run', '--allow-env'];
const liveness = (...args: string[]) => deno(ALL, 'liveness.ts', args);
const kinds = [
  { label: 'Thread (Web Worker)', make: Thread, daemon: false },
  { label: 'daemon Thread (node:worker_threads)', make: Thread, daemon: true },
  { label: 'Process', make: Process, daemon: false },
] as const;

// ── TypeScript task modules ───────────────────────────────────────────────────────────────

for (const { label, make, daemon } of kinds) {
  test(`${label} runs a .ts task module, loaded by Deno itself`, async () => {
    const w = new make({ target: tasks.typed, args: [{ id: 7 }], daemon });
    w.start();
    deepEqual(await w.result(), { id: 7, seen: true });
    equal(w.exitCode, 0);
  });

  test(`${label}: an error thrown in a .ts module keeps its class, code and a stack into the .ts file`, async () => {
    const w = new make({ target: tasks.fail, args: ['x'], daemon });
    w.start();
    const error = (await w.result().catch((e: unknown) => e)) as TaskError;
    ok(error instanceof TaskError, `a TaskError, got ${String(error)}`);
    equal(error.remoteName, 'MyErr');
    equal((error.cause as { code?: string }).code, 'E_MINE');
    match(error.remoteStack, /at fail .*tasks\.ts:\d+/);
    equal(w.exitCode, 1);
  });
}

// ── A worker that ends itself ─────────────────────────────────────────────────────────────

for (const { label, make, daemon } of kinds) {
  for (const how of ['denoExit', 'processExit'] as const) {
    test(`${label}: ${how === 'denoExit' ? 'Deno.exit(3)' : 'process.exit(3)'} in a task ends it with exitCode 3; the task rejects`, async () => {
      const w = new make({ target: tasks[how], args: [3], daemon });
      w.start();
      const error = (await w.result().catch((e: unknown) => e)) as Error;
      match(error.message, new RegExp(`exited with code 3 while running ${how}`));
      equal(w.exitCode, 3);
    });
  }
}

test('a Web Worker thread that close()s itself mid-task ends; the task rejects', async () => {
  const w = new Thread({ target: tasks.closeSelf, args: [] });
  w.start();
  const error = (await w.result().catch((e: unknown) => e)) as Error;
  match(error.message, /exited with code 0 while running closeSelf/);
  equal(w.isAlive(), false);
});

// ── Threads share this process; a Process is an OS process of its own ─────────────────────

for (const daemon of [false, true]) {
  test(`a ${daemon ? 'daemon ' : ''}Thread runs in this OS process and has an ident of its own`, async () => {
    const a = new Thread({ target: tasks.whoami, args: [], daemon });
    const b = new Thread({ target: tasks.whoami, args: [], daemon });
    a.start();
    b.start();
    deepEqual(await a.result(), { pid: Deno.pid });
    deepEqual(await b.result(), { pid: Deno.pid });
    ok(typeof a.ident === 'number' && typeof b.ident === 'number' && a.ident !== b.ident, `idents ${a.ident}, ${b.ident}`);
  });
}

for (const daemon of [false, true]) {
  test(`a ${daemon ? 'daemon ' : ''}thread terminated while busy is reported gone only once it has stopped`, async () => {
    // Deno does not interrupt a worker busy in a loop: it runs on until the loop ends. The end
    // waits for its life lock (up to 2 s; a loop that never ends is reported gone after that).
    for (let round = 0; round < 3; round++) {
      const ticks = new Int32Array(new SharedArrayBuffer(4));
      const t = new Thread({ target: nested.spinFor, args: [ticks, 300], daemon });
      t.start();
      while (Atomics.load(ticks, 0) === 0) await new Promise((r) => setTimeout(r, 2));
      await t.terminate();
      equal(t.isAlive(), false);
      const seen = Atomics.load(ticks, 0);
      await new Promise((r) => setTimeout(r, 50));
      // Deno frees the life lock as it interrupts the worker, one step before the loop stops (a
      // count of 1 was seen); the rest of the loop would have counted on by hundreds of thousands.
      const more = Atomics.load(ticks, 0) - seen;
      ok(more <= 100, `round ${round}: it counted on by ${more} after its end was reported`);
    }
  });
}

for (const daemon of [false, true]) {
  test(`a thread started by a ${daemon ? 'daemon ' : ''}thread ends with it, and a lock it held is let go`, async () => {
    const lock = new Lock();
    const held = new Event();
    const ticks = new Int32Array(new SharedArrayBuffer(4));
    const parent = new Thread({ target: nested.holdLockInChild, args: [lock, held, ticks], daemon });
    parent.start();
    equal(await held.wait({ timeout: PATIENCE_MS }), true);
    equal(await lock.acquire({ timeout: 50 }), false);
    await parent.terminate();
    // Only the main thread, the parent's parent, saw the child go.
    equal(await lock.acquire({ timeout: PATIENCE_MS }), true);
    lock.release();
    // It does end, though not always before its parent's end is reported: a node:worker_threads
    // parent under Deno was seen to let its child tick once more.
    let stopped = false;
    for (let tries = 0; tries < 100 && !stopped; tries++) {
      const seen = Atomics.load(ticks, 0);
      await new Promise((r) => setTimeout(r, 100));
      stopped = Atomics.load(ticks, 0) === seen;
    }
    ok(stopped, 'the child thread has stopped');
  });
}

test('a Process has a pid of its own, alive while it runs, gone after', async () => {
  const p = new Process({ target: tasks.whoami, args: [] });
  p.start();
  ok(typeof p.pid === 'number' && p.pid !== Deno.pid, `pid ${p.pid}`);
  equal(p.ident, p.pid);
  ok(alive(p.pid!), 'alive while it runs');
  deepEqual(await p.result(), { pid: p.pid });
  ok(await gone(p.pid!), 'gone after it ended');
});

test('Process.kill() sends SIGKILL: exitCode -9', async () => {
  const p = new Process({ target: tasks.forever, args: [] });
  p.start();
  await p.kill();
  equal(p.exitCode, -9);
  ok(!alive(p.pid!), 'gone');
});

test('a signal from outside shows as a negative exit code, and the pending result rejects', async () => {
  const running = new Event();
  const p = new Process({ target: tasks.signalThenForever, args: [running] });
  p.start();
  const result = p.result().catch((e: unknown) => e as Error);
  // The signal comes once the task runs, not while the process may still be starting.
  equal(await running.wait({ timeout: PATIENCE_MS }), true, 'the task runs');
  process.kill(p.pid!, 'SIGINT');
  match((await result).message, /exited with code -2 while running signalThenForever/);
  equal(p.exitCode, -2);
});

test('a process whose parent was killed exits instead of living on as an orphan', async () => {
  const parent = spawn(Deno.execPath(), ['run', ...ALL, fixture('liveness.ts'), 'process', 'normal', 'forever'], {
    cwd: packageDir,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve) => parent.stdout!.once('data', (d: Uint8Array) => resolve(new TextDecoder().decode(d))));
  const pid = Number(/started (\d+)/.exec(line)?.[1]);
  ok(alive(pid), `child ${pid} alive`);
  parent.kill('SIGKILL');
  ok(await gone(pid), 'the orphan exited');
});

/** How a child process ends with its parent, as its command line says: 'signal' or 'thread'; `undefined` where /proc cannot tell. */
function parentWatchOf(pid: number): string | undefined {
  try {
    return /--threadkit-parent=\d+:(\w+)/.exec(readFileSync(`/proc/${pid}/cmdline`, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/** Where a child process gets the parent-death signal by default: Linux with util-linux's setpriv (and --allow-run, which these programs have). */
const SIGNAL_BY_DEFAULT = process.platform === 'linux' && SETPRIV_PATHS.some((path) => existsSync(path));

/**
 * Runs fixtures/orphans.ts, waits until each of its children reports that it runs its busy loop,
 * kills the program with SIGKILL, and checks that every child ends (within 20 s). `watch:
 * 'thread'` makes every child watch with a thread (through THREADKIT_PARENT_WATCH); by default a
 * child gets the parent-death signal where there is one, which is checked too. Whatever happens,
 * every process it learnt of is killed at the end.
 */
async function busyChildrenEndWithKilledParent(watch: 'default' | 'thread'): Promise<void> {
  const roles = ['process', 'middle', 'nested', 'pool'];
  const env = { ...process.env };
  if (watch === 'thread') env[PARENT_WATCH_ENV] = 'thread';
  else delete env[PARENT_WATCH_ENV];
  const program = spawn(Deno.execPath(), ['run', '--no-prompt', ...ALL, fixture('orphans.ts')], {
    cwd: packageDir,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    env,
  });
  const children = new Map<string, number>();
  try {
    let stderr = '';
    const text = new TextDecoder();
    program.stderr!.on('data', (d: Uint8Array) => void (stderr += text.decode(d)));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      program.stdout!.on('data', (d: Uint8Array) => {
        out += text.decode(d);
        for (const [, role, pid] of out.matchAll(/^running (\w+) (\d+)$/gm)) children.set(role!, Number(pid));
        if (roles.every((role) => children.has(role))) resolve();
      });
      program.once('error', reject);
      program.once('exit', (code, signal) =>
        reject(new Error(`the parent program ended (${code ?? signal}) before its children all ran; stdout: ${out}; stderr: ${stderr}`)),
      );
    });
    const expected = watch === 'thread' || !SIGNAL_BY_DEFAULT ? 'thread' : 'signal';
    for (const [role, pid] of children) {
      ok(running(pid), `the ${role} child ${pid} runs before its parent is killed`);
      const how = parentWatchOf(pid);
      if (how !== undefined) equal(how, expected, `how the ${role} child ${pid} ends with its parent`);
    }
    program.kill('SIGKILL');
    const ended = await Promise.all([...children].map(async ([role, pid]) => ((await ends(pid)) ? '' : `${role} ${pid}`)));
    equal(ended.filter(Boolean).join(', '), '', 'children (busy in loops) still running 20 s after their parent was killed');
  } finally {
    // Its own process group (detached) holds every process it started, reported or not.
    if (program.pid !== undefined) killAll([-program.pid, program.pid]);
    killAll(children.values());
  }
}

// Their event loops never turn, so the IPC channel's closing never reaches them.
test(`processes busy in loops that never yield (a nested one and a Pool worker too) end when their parent is killed (${SIGNAL_BY_DEFAULT ? 'the parent-death signal' : 'a watcher thread'})`, () =>
  busyChildrenEndWithKilledParent('default'));
test('the same, each child watching its parent with a thread (THREADKIT_PARENT_WATCH=thread)', () => busyChildrenEndWithKilledParent('thread'));

// ── Liveness at exit ──────────────────────────────────────────────────────────────────────

for (const kind of ['thread', 'process']) {
  test(`a daemon ${kind} running forever does not keep the program alive`, async () => {
    const r = await liveness(kind, 'daemon', 'forever');
    equal(r.code, 0, r.stderr);
    match(r.stdout, /main end/);
    if (kind === 'process') ok(await gone(Number(/started (\d+)/.exec(r.stdout)?.[1])), 'the daemon process was ended');
  });

  for (const transport of kind === 'thread' ? ['auto', 'message'] : ['auto']) {
    for (const what of ['queue', 'queue-timeout']) {
      test(`a daemon ${kind} waiting on a Queue${what === 'queue-timeout' ? ' with a 60 s timeout' : ''} (${transport} transport) does not keep the program alive`, async () => {
        const r = await liveness(kind, 'daemon', what, transport);
        // Ended by itself (before the run's 40 s bound, so it did not wait out a 60 s get() either).
        equal(r.code, 0, `${r.stderr} (ended after ${Math.round(r.ms)} ms)`);
        match(r.stdout, /main end/);
        if (kind === 'process') ok(await gone(Number(/started (\d+)/.exec(r.stdout)?.[1])), 'the daemon process was ended');
      });
    }

    test(`the main module waiting on a Queue (${transport} transport) stays alive until a daemon ${kind} puts`, async () => {
      const r = await liveness(kind, 'daemon', 'wait', transport);
      equal(r.code, 0, r.stderr);
      match(r.stdout, /got put by the worker\nmain end\n/);
    });
  }

  test(`awaiting join() of a daemon ${kind} keeps the program alive until it ends`, async () => {
    const r = await liveness(kind, 'daemon', 'say');
    equal(r.code, 0, r.stderr);
    match(r.stdout, /worker says bye\n(.*\n)*joined true\nmain end\n/);
  });

  test(`a non-daemon ${kind} keeps the program alive until it ends, then the program exits`, async () => {
    const r = await liveness(kind, 'normal', 'say');
    equal(r.code, 0, r.stderr);
    match(r.stdout, /main end\n(.*\n)*worker says bye\n/);
  });

  test(`an open Pool of idle ${kind === 'thread' ? 'threads' : 'processes'} does not keep the program alive; a pending task does`, async () => {
    const idle = await liveness(kind, 'normal', 'pool-idle');
    // Ended by itself: idle workers would hold it until the run's bound kills it.
    equal(idle.code, 0, `${idle.stderr} (ended after ${Math.round(idle.ms)} ms)`);
    match(idle.stdout, /pool result 3\nmain end\n$/);
    const pending = await liveness(kind, 'normal', 'pool-task');
    equal(pending.code, 0, pending.stderr);
    match(pending.stdout, /main end\n(.*\n)*pool task says bye\n/);
  });

  test(`an unobserved failure in a ${kind} is printed once to stderr with its remote stack`, async () => {
    const r = await liveness(kind, 'normal', 'fail');
    equal(r.code, 0, r.stderr);
    equal((r.stderr.match(/Exception in (Thread|Process)-1:/g) ?? []).length, 1, r.stderr);
    match(r.stderr, /MyErr: unobserved failure/);
    match(r.stderr, /at fail .*tasks\.ts:\d+/);
  });
}

// ── Permissions ───────────────────────────────────────────────────────────────────────────

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const coreDist = fileURLToPath(new URL('../node_modules/@threadkit/core/dist/', import.meta.url));
const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
// What a thread needs to read: threadkit's own modules (Deno reports their real paths), and the task module.
const threadkitFiles = [dist, Deno.realPathSync(coreDist)].join(',');
const permissions = (flags: string[], ...args: string[]) => deno(flags, 'permissions.ts', args);

for (const kind of ['thread', 'daemon']) {
  test(`a ${kind} whose task module is outside the granted read access fails with WorkerStartError naming --allow-read`, async () => {
    const r = await permissions([`--allow-read=${threadkitFiles},${fixtures}tasks.ts`], kind, 'outside');
    match(
      r.stdout,
      /^WorkerStartError: Cannot start add on Thread-1: its module failed to load: NotCapable: Deno denied read access to the task module .*outside\/tasks\.ts: run with --allow-read \(or --allow-read=.*outside\/\)/m,
    );
    const inside = await permissions([`--allow-read=${threadkitFiles},${fixtures}tasks.ts`], kind, 'inside');
    match(inside.stdout, /^result 3$/m, inside.stderr);
  });

  test(`a ${kind} without read access to threadkit's worker entry fails with WorkerStartError naming --allow-read`, async () => {
    const r = await permissions([], kind, 'inside');
    match(
      r.stdout,
      /^WorkerStartError: Cannot start Thread-1: (the worker failed before it was ready: )?Deno denied read access to .*, which a thread needs to load threadkit's worker entry \(.*worker\.js\) and the modules it imports: run with --allow-read$/m,
    );
    equal(r.code, 0, r.stderr);
  });
}

test('a Process without --allow-run and --allow-env fails with WorkerStartError naming the permission', async () => {
  const r = await permissions(['--allow-read'], 'process', 'inside');
  match(
    r.stdout,
    /^WorkerStartError: Cannot start Process-1: Deno denied (env|run) access, which a Process needs: it is a new Deno process, started by node:child_process, which needs --allow-run and --allow-env: run with --allow-(env|run)$/m,
  );
});

test('a program that may run deno alone (--allow-run=<deno>) starts a Process that watches its parent with a thread: it may not run setpriv', async () => {
  const r = await permissions(['--allow-read', `--allow-run=${Deno.execPath()}`, '--allow-env'], 'process', 'inside', 'parentWatch');
  match(r.stdout, /^result thread$/m, r.stderr);
  if (SIGNAL_BY_DEFAULT) {
    const full = await permissions(ALL, 'process', 'inside', 'parentWatch');
    match(full.stdout, /^result signal$/m, full.stderr);
  }
});

test('a Process gets the permissions its program holds in full, and no more', async () => {
  // This test run holds read, run and env in full, and nothing else.
  const p = new Process({ target: tasks.permissions, args: [] });
  p.start();
  // 'prompt' is how Deno reports a permission not granted, even under --no-prompt.
  deepEqual(await p.result(), { read: 'granted', write: 'prompt', net: 'prompt', env: 'granted', run: 'granted', ffi: 'prompt', sys: 'prompt' });
});

test('a Process gets read access to the working directory when that is what was granted; a task module outside it fails naming --allow-read', async () => {
  const r = await permissions([`--allow-read=${packageDir}`, '--allow-run', '--allow-env'], 'process', 'inside');
  match(r.stdout, /^result 3$/m, r.stderr);
  const outside = await permissions([`--allow-read=${threadkitFiles},${fixtures}`, '--allow-run', '--allow-env'], 'process', 'inside');
  match(
    outside.stdout,
    /^WorkerStartError: .*Deno denied read access to the task module .*fixtures\/tasks\.ts: run with --allow-read .*a Process is a new Deno process/m,
  );
});

test('a Pool of processes counts the tasks its worker starts in a progress cell where the program may write to the temporary directory, else by a message per task', async () => {
  // The progress cell is a file in the temporary directory (unlinked at once) that the child
  // writes through an inherited descriptor, needing no permission of its own.
  const burst = async (flags: string[]) => {
    const r = await deno([...ALL, ...flags], 'progress.ts', []);
    equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { cell: number | null; messages: number; tasks: number };
  };
  const write = `--allow-write=${tmpdir()}`;
  const withCell = await burst([write]);
  equal(withCell.cell, withCell.tasks + 1, 'the worker counted every task it started in its cell');
  ok(withCell.messages < withCell.tasks / 4, `results came back in batches: ${withCell.messages} messages for ${withCell.tasks} tasks`);
  // The cell, one more descriptor the child inherits, does not keep the program alive either.
  const idle = await deno([...ALL, write], 'liveness.ts', ['process', 'normal', 'pool-idle']);
  equal(idle.code, 0, `${idle.stderr} (ended after ${Math.round(idle.ms)} ms)`);
  match(idle.stdout, /pool result 3\nmain end\n$/);
  const without = await burst([]);
  equal(without.cell, null, 'no cell without write access');
  ok(without.messages >= without.tasks, `a message before each task instead: ${without.messages} messages for ${without.tasks} tasks`);
});
