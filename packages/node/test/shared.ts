// Checks shared by this adapter's two test runs: vitest on Node and `bun test` on Bun.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Event, Lock, Thread, taskModule } from '@threadkit/node';
import { PARENT_WATCH_ENV, SETPRIV_PATHS } from '@threadkit/core/adapter';
import { PATIENCE_MS, equal } from '@threadkit/core/conformance';

const tasks = taskModule<typeof import('./fixtures/tasks.ts')>(new URL('./fixtures/tasks.ts', import.meta.url));

/** Whether a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether the process is gone within `ms` (polled: a bound for a process that never goes, not a speed check). */
export async function gone(pid: number, ms = 20_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
    if (!alive(pid)) return true;
  }
  return !alive(pid);
}

/** A thread started by a thread ends with it, and a lock it held is let go once its parent is terminated. */
export async function threadEndsWithParent(): Promise<void> {
  const lock = new Lock();
  const held = new Event();
  const ticks = new Int32Array(new SharedArrayBuffer(4));
  const parent = new Thread({ target: tasks.holdLockInChild, args: [lock, held, ticks] });
  parent.start();
  equal(await held.wait({ timeout: PATIENCE_MS }), true);
  equal(await lock.acquire({ timeout: 50 }), false);
  await parent.terminate();
  // The child thread ended with its parent; only the main thread, the parent's parent, saw it.
  equal(await lock.acquire({ timeout: PATIENCE_MS }), true);
  lock.release();
  // It really has ended (threadkit relies on the runtime ending a worker's workers with it).
  const seen = Atomics.load(ticks, 0);
  await new Promise((r) => setTimeout(r, 100));
  equal(Atomics.load(ticks, 0), seen, 'the child thread has stopped');
}

/**
 * Whether the process with this pid still runs: it exists and, where /proc tells, is not a
 * zombie (a zombie has ended; only its exit status waits for whoever adopted it to reap it).
 */
export function running(pid: number): boolean {
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
export async function ends(pid: number, ms = 20_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
    if (!running(pid)) return true;
  }
  return !running(pid);
}

/** Sends SIGKILL to each pid (a negative one: each process of that group) that still exists. */
export function killAll(pids: Iterable<number>): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** The roles of the children that fixtures/orphans.mjs starts, each busy in a loop that never yields. */
export const ORPHAN_ROLES = ['process', 'middle', 'nested', 'pool'] as const;

/**
 * How a child process ends with its parent (see @threadkit/core/adapter), as its command line
 * says: 'signal' or 'thread'; `undefined` where /proc cannot tell.
 */
export function parentWatchOf(pid: number): string | undefined {
  try {
    return /--threadkit-parent=\d+:(\w+)/.exec(readFileSync(`/proc/${pid}/cmdline`, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/** Where a child process gets the parent-death signal by default: Linux with util-linux's setpriv. */
export const SIGNAL_BY_DEFAULT = process.platform === 'linux' && SETPRIV_PATHS.some((path) => existsSync(path));

/**
 * Runs fixtures/orphans.mjs with `execPath` (this Node, or this Bun), waits until each of its
 * children reports that it runs its busy loop, kills the program with SIGKILL, and checks that
 * every child ends (within 20 s). `watch: 'thread'` makes every child watch with a thread (through
 * THREADKIT_PARENT_WATCH); by default a child gets the parent-death signal where there is one,
 * which is checked too. Whatever happens, every process it learnt of is killed at the end.
 */
export async function busyChildrenEndWithKilledParent(execPath: string, watch: 'default' | 'thread'): Promise<void> {
  const env = { ...process.env };
  if (watch === 'thread') env[PARENT_WATCH_ENV] = 'thread';
  else delete env[PARENT_WATCH_ENV];
  const program = spawn(execPath, [fileURLToPath(new URL('./fixtures/orphans.mjs', import.meta.url))], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    env,
  });
  const children = new Map<string, number>();
  try {
    let stderr = '';
    program.stderr!.on('data', (d: Buffer) => void (stderr += d.toString()));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      program.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        for (const [, role, pid] of out.matchAll(/^running (\w+) (\d+)$/gm)) children.set(role!, Number(pid));
        if (ORPHAN_ROLES.every((role) => children.has(role))) resolve();
      });
      program.once('error', reject);
      program.once('exit', (code, signal) =>
        reject(new Error(`the parent program ended (${code ?? signal}) before its children all ran; stdout: ${out}; stderr: ${stderr}`)),
      );
    });
    const expected = watch === 'thread' || !SIGNAL_BY_DEFAULT ? 'thread' : 'signal';
    for (const [role, pid] of children) {
      equal(running(pid), true, `the ${role} child ${pid} runs before its parent is killed`);
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
