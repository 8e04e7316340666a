import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Event, Process, TaskError, Thread, taskModule } from '@threadkit/node';
import { PATIENCE_MS } from '@threadkit/core/conformance';
import { SIGNAL_BY_DEFAULT, alive, busyChildrenEndWithKilledParent, gone, threadEndsWithParent } from './shared.ts';

const tasks = taskModule<typeof import('./fixtures/tasks.ts')>(new URL('./fixtures/tasks.ts', import.meta.url));
const liveness = fileURLToPath(new URL('./fixtures/liveness.mjs', import.meta.url));

function runScript(...args: string[]) {
  const started = Date.now();
  const r = spawnSync(process.execPath, [liveness, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { ...r, ms: Date.now() - started };
}

describe('TypeScript task modules on this Node', () => {
  for (const Kind of [Thread, Process]) {
    it(`${Kind.name} runs a .ts task module (tsx on Node 20, type stripping on Node >= 22.6)`, async () => {
      const w = new Kind({ target: tasks.typed, args: [{ id: 7 }] });
      w.start();
      expect(await w.result()).toEqual({ id: 7, seen: true });
    });

    it(`${Kind.name}: an error thrown in a .ts module keeps its class, code and a stack into the .ts file`, async () => {
      const w = new Kind({ target: tasks.fail, args: ['x'] });
      w.start();
      const error = (await w.result().catch((e: unknown) => e)) as TaskError;
      expect(error).toBeInstanceOf(TaskError);
      expect(error.remoteName).toBe('MyErr');
      expect((error.cause as { code?: string }).code).toBe('E_MINE');
      expect(error.remoteStack).toMatch(/tasks\.ts:\d+/);
    });
  }
});

describe('Process on Node is a real OS process', () => {
  it('has a pid of its own, alive while it runs', async () => {
    const p = new Process({ target: tasks.whoami, args: [] });
    p.start();
    expect(p.pid).toBeTypeOf('number');
    expect(p.pid).not.toBe(process.pid);
    expect(p.ident).toBe(p.pid);
    expect(await p.result()).toEqual({ pid: p.pid });
    expect(await gone(p.pid!)).toBe(true);
  });

  it('kill() sends SIGKILL: exitCode -9', async () => {
    const p = new Process({ target: tasks.forever, args: [] });
    p.start();
    await p.kill();
    expect(p.exitCode).toBe(-9);
    expect(alive(p.pid!)).toBe(false);
  });

  it('a signal from outside shows as a negative exit code, and the pending result rejects', async () => {
    const running = new Event();
    const p = new Process({ target: tasks.signalThenForever, args: [running] });
    p.start();
    const result = p.result();
    // The signal comes once the task runs, not while the process may still be starting.
    expect(await running.wait({ timeout: PATIENCE_MS })).toBe(true);
    process.kill(p.pid!, 'SIGINT');
    await expect(result).rejects.toThrow(/exited with code -2 while running signalThenForever/);
    expect(p.exitCode).toBe(-2);
  });

  it('a process whose parent was killed exits instead of living on as an orphan', async () => {
    const parent = spawn(process.execPath, [liveness, 'process', 'normal', 'forever'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await new Promise<string>((resolve) => parent.stdout.once('data', (d: Buffer) => resolve(d.toString())));
    const pid = Number(/started (\d+)/.exec(line)?.[1]);
    expect(alive(pid)).toBe(true);
    parent.kill('SIGKILL');
    expect(await gone(pid)).toBe(true);
  });

  // Their event loops never turn, so the IPC channel's 'disconnect' never reaches them.
  it(
    `processes busy in loops that never yield (a nested one and a Pool worker too) end when their parent is killed (${SIGNAL_BY_DEFAULT ? 'the parent-death signal' : 'a watcher thread'})`,
    () => busyChildrenEndWithKilledParent(process.execPath, 'default'),
    90_000,
  );
  it(
    'the same, each child watching its parent with a thread (THREADKIT_PARENT_WATCH=thread)',
    () => busyChildrenEndWithKilledParent(process.execPath, 'thread'),
    90_000,
  );
});

describe('a thread that ends with the thread that started it', () => {
  it('lets go of a lock it held once its parent thread is terminated', threadEndsWithParent);
});

describe('liveness at exit', () => {
  for (const kind of ['thread', 'process']) {
    it(`a daemon ${kind} running forever does not keep the program alive`, async () => {
      const r = runScript(kind, 'daemon', 'forever');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/main end/);
      const pid = Number(/started (\d+)/.exec(r.stdout)?.[1]);
      if (kind === 'process') expect(await gone(pid)).toBe(true);
    });

    for (const transport of kind === 'thread' ? ['auto', 'message'] : ['auto']) {
      it(`a daemon ${kind} waiting on a Queue (${transport} transport) does not keep the program alive`, async () => {
        const r = runScript(kind, 'daemon', 'queue', transport);
        expect(r.status).toBe(0);
        expect(r.stdout).toMatch(/main end/);
        const pid = Number(/started (\d+)/.exec(r.stdout)?.[1]);
        if (kind === 'process') expect(await gone(pid)).toBe(true);
      });
    }

    it(`awaiting join() of a daemon ${kind} keeps the program alive until it ends`, () => {
      const r = runScript(kind, 'daemon', 'say');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/joined true\nmain end\n/);
      expect(r.stdout).toMatch(/worker says bye/);
    });

    it(`a non-daemon ${kind} keeps the program alive until it ends, then the program exits`, () => {
      const r = runScript(kind, 'normal', 'say');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/main end\n(.*\n)*worker says bye\n/);
    });

    it(`an unobserved failure in a ${kind} is printed once to stderr with its remote stack`, () => {
      const r = runScript(kind, 'normal', 'fail');
      expect(r.status).toBe(0);
      const reports = r.stderr.match(/Exception in (Thread|Process)-1:/g) ?? [];
      expect(reports).toHaveLength(1);
      expect(r.stderr).toMatch(/MyErr: unobserved failure/);
      expect(r.stderr).toMatch(/at fail .*tasks\.ts:\d+/);
    });
  }
});
