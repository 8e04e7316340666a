/**
 * Parent death. A child process learns that its parent died from its IPC channel closing, and
 * only its event loop hears that: a process busy in a loop that never yields would run on,
 * adopted by init, for good. So a child process is also ended, whatever its main thread does,
 * in one of two ways:
 * - 'signal': on Linux, the kernel's parent-death signal (PR_SET_PDEATHSIG), set to SIGKILL by
 *   starting the child through util-linux's `setpriv --pdeathsig KILL`, which then execs the
 *   runtime in place (same pid, same IPC channel). It costs the child nothing. The signal comes
 *   when the thread that started the child ends: the parent process, or the worker thread that
 *   started it, as the IPC channel, which that thread's event loop holds, closes then too.
 * - 'thread': elsewhere (macOS, Windows, no setpriv, Deno without --allow-run for it), a small
 *   worker thread in the child, with an event loop of its own, checks every PARENT_POLL_MS that
 *   the parent process is still there, and otherwise ends the process with SIGKILL. It costs a
 *   worker thread per process, which Deno and Bun create while the main thread waits.
 */
import { InvalidStateError } from '../errors.js';

/** How often a child process's watcher thread (the 'thread' way) checks that its parent is still there. */
export const PARENT_POLL_MS = 200;

/** How a child process ends once its parent is gone, whatever its main thread does (see above). */
export type ParentWatch = 'signal' | 'thread';

/** The environment variable that, set to `thread`, makes every child process watch its parent with a thread. */
export const PARENT_WATCH_ENV = 'THREADKIT_PARENT_WATCH';

/** Where util-linux installs setpriv; the PATH is not searched, so no other program runs in its place. */
export const SETPRIV_PATHS: readonly string[] = ['/usr/bin/setpriv', '/bin/setpriv'];

const PARENT_ARG = '--threadkit-parent=';

/**
 * Parent side, once per program: the setpriv that can start child processes with a parent-death
 * signal, or `undefined` (then each child watches its parent with a thread). `works(path, args)`
 * runs `path args` and tells whether it exited with 0: it is run with `--pdeathsig KILL --
 * <path> --version`, which fails where setpriv is too old for the option, or where the kernel
 * refuses it (a seccomp filter). An adapter that may not run `path` says false without running it.
 * @example findSetpriv(process.platform, process.env[PARENT_WATCH_ENV], (path, args) => spawnSync(path, args, { stdio: 'ignore' }).status === 0)
 */
export function findSetpriv(platform: string, watchEnv: string | undefined, works: (path: string, args: string[]) => boolean): string | undefined {
  if (watchEnv !== undefined && watchEnv !== '' && watchEnv !== 'thread') {
    throw new TypeError(
      `${PARENT_WATCH_ENV} must be 'thread' (every child process watches its parent with a thread) or unset, got ${JSON.stringify(watchEnv)}`,
    );
  }
  if (watchEnv === 'thread' || platform !== 'linux') return undefined;
  return SETPRIV_PATHS.find((path) => works(path, ['--pdeathsig', 'KILL', '--', path, '--version']));
}

/**
 * Parent side, per child: the command that starts a child process running `run` (the runtime,
 * its flags and the worker entry), with the argument that names this process as its parent.
 * With `setpriv` (from {@link findSetpriv}) the child gets the parent-death signal; without, it
 * watches with a thread.
 * @example const { command, args } = childCommand([process.execPath, entry], process.pid, setpriv);
 */
export function childCommand(run: readonly string[], parentPid: number, setpriv: string | undefined): { command: string; args: string[] } {
  if (run.length === 0) throw new TypeError('childCommand: run must name the runtime to start, got an empty list');
  if (setpriv !== undefined) return { command: setpriv, args: ['--pdeathsig', 'KILL', '--', ...run, parentArg(parentPid, 'signal')] };
  return { command: run[0]!, args: [...run.slice(1), parentArg(parentPid, 'thread')] };
}

/**
 * The argument that tells a child process's worker entry which process is its parent and how it
 * ends with it (see {@link childCommand}, {@link startParentWatch}). Passed rather than read at
 * start-up: the parent may already be gone by then.
 */
export function parentArg(pid: number, watch: ParentWatch): string {
  if (!Number.isSafeInteger(pid) || pid <= 0) throw new RangeError(`parentArg: a pid must be a positive integer, got ${String(pid)}`);
  if (watch !== 'signal' && watch !== 'thread') throw new TypeError(`parentArg: watch must be 'signal' or 'thread', got ${JSON.stringify(watch)}`);
  return `${PARENT_ARG}${pid}:${watch}`;
}

/** The parent pid and way of watching it that {@link parentArg} put among `args`. */
export function parentFrom(args: readonly string[]): { pid: number; watch: ParentWatch } {
  const arg = args.find((a) => a.startsWith(PARENT_ARG));
  const match = arg === undefined ? null : /^(\d+):(signal|thread)$/.exec(arg.slice(PARENT_ARG.length));
  const pid = match ? Number(match[1]) : Number.NaN;
  if (!match || !Number.isSafeInteger(pid) || pid <= 0) {
    throw new InvalidStateError(
      `a threadkit child process is started with ${PARENT_ARG}<its parent's pid>:<signal|thread> among its arguments, got ${arg === undefined ? 'none' : JSON.stringify(arg)}: start it with new Process(), not on its own`,
    );
  }
  return { pid, watch: match[2] as ParentWatch };
}

/** The part of `node:process` (Node's, Deno's or Bun's) the parent watch uses. */
export interface WatchedProcess {
  readonly pid: number;
  /** Read afresh on every call: an orphan's changes to whoever adopted it (POSIX). */
  readonly ppid: number;
  kill(pid: number, signal?: string | number): unknown;
  abort(): void;
}

/**
 * The watcher thread's body, run there from its source text (see {@link startParentWatch}): it
 * refers to nothing outside itself. The parent is gone once this process's parent pid is no
 * longer `parentPid` (POSIX reparents an orphan), or once no process has that pid (Windows
 * keeps the old parent pid). Then it ends the process with SIGKILL, or aborts it where that is
 * refused (a runtime that asks for a permission even to kill itself; Deno 2.9 does not).
 * Checks at once, then every `everyMs` through `schedule`.
 */
export function watchParent(proc: WatchedProcess, schedule: (check: () => void, ms: number) => unknown, parentPid: number, everyMs: number): void {
  // Cleared once probing the parent's pid is refused (Deno, without --allow-run): ppid alone decides then.
  let probe = true;
  const gone = (): boolean => {
    if (proc.ppid !== parentPid) return true;
    if (!probe) return false;
    try {
      proc.kill(parentPid, 0);
      return false;
    } catch (error) {
      const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
      if (code === 'ESRCH') return true;
      // EPERM: it exists, as another user's process. Anything else: this runtime may not probe.
      if (code !== 'EPERM') probe = false;
      return false;
    }
  };
  const check = (): void => {
    if (!gone()) {
      schedule(check, everyMs);
      return;
    }
    try {
      proc.kill(proc.pid, 'SIGKILL');
    } catch {
      proc.abort();
    }
  };
  check();
}

/** A `node:worker_threads` Worker, as {@link startParentWatch} uses it. */
export interface WatcherThread {
  on(event: 'error', listener: (error: unknown) => void): unknown;
  unref(): unknown;
}

/**
 * Child side, at start-up, with the worker loop already listening. A parent already gone (it
 * died before the parent-death signal was set, or before the watcher thread could look) ends
 * this process now. Then, for the 'thread' way, it starts the watcher thread:
 * `startThread(source)` starts a `node:worker_threads` Worker on that CommonJS source
 * (`new Worker(source, { eval: true })`: no file to read, so no read permission needed under
 * Deno); the thread does not keep the process alive. A thread that fails is reported, once.
 * @example startParentWatch(process.argv.slice(2), process, (source) => new Worker(source, { eval: true }), report);
 */
export function startParentWatch(
  args: readonly string[],
  proc: WatchedProcess,
  startThread: (source: string) => WatcherThread,
  report: (text: string) => void,
): void {
  const { pid, watch } = parentFrom(args);
  watchParent(proc, () => {}, pid, PARENT_POLL_MS);
  if (watch !== 'thread') return;
  const thread = startThread(`(${String(watchParent)})(require('node:process'), setTimeout, ${pid}, ${PARENT_POLL_MS});`);
  thread.on('error', (error) => {
    const why = error instanceof Error ? error.message : String(error);
    report(`threadkit: this process's parent watch failed (${why}); if its parent dies, it ends only once its event loop turns`);
  });
  thread.unref();
}
