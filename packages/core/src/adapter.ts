/**
 * Helpers for runtime adapters (`@threadkit/core/adapter`): behaviour that several adapters share,
 * written once here against structural types, since core imports no runtime.
 */
import { _clearTimeout, _setTimeout, type TimerHandle } from './_globals.js';

/** A child process as an adapter holds it (a Node or Deno `ChildProcess`). */
export interface EndableChild {
  kill(signal: 'SIGTERM'): unknown;
  once(event: 'exit', listener: () => void): unknown;
}

const daemons = new Set<EndableChild>();
let exitHookInstalled = false;

/**
 * Ends a daemon process when this program exits: a daemon does not keep the program alive, and
 * must not outlive it either. `onExit` installs the runtime's exit hook; it is called once.
 * @example endAtExit(child, (hook) => process.once('exit', hook));
 */
export function endAtExit(child: EndableChild, onExit: (hook: () => void) => void): void {
  daemons.add(child);
  child.once('exit', () => daemons.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  onExit(() => {
    for (const c of daemons) c.kill('SIGTERM');
  });
}

// ---------------------------------------------------------------------------
// Life locks. A Web Worker (in a browser or in Deno) gives no event when it ends, and runs on for
// a moment after `terminate()`; threadkit must not report it gone (and let go of what it held)
// while it still runs. So the worker holds a Web Lock for as long as it lives, and its parent
// reports its end once it can take that lock.

interface LockManagerLike {
  request(name: string, callback: () => unknown): Promise<unknown>;
  request(name: string, options: { signal?: unknown }, callback: () => unknown): Promise<unknown>;
}

const locks = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks;

/**
 * The key of a worker's first message from its parent: `{ [LIFE_KEY]: name }`, the name of the
 * Web Lock the worker holds for life (see {@link lifeName}, {@link afterLife}, {@link withLifeLock}).
 */
export const LIFE_KEY = '__threadkit_life__';

/** Tells this realm's life locks from those of other realms that share the lock manager (pages of one origin). */
const realm = Math.random().toString(36).slice(2);
let lives = 0;

/** A new life-lock name, for the first message to a new worker: `{ [LIFE_KEY]: lifeName() }`. */
export function lifeName(): string {
  return `threadkit:${realm}:${++lives}`;
}

/**
 * Parent side: calls `then` once the worker that holds the life lock `name` is really gone
 * (where Web Locks are missing, as in a page that is not a secure context, on a later turn), or
 * once `graceMs` have passed, for a runtime that may never stop a worker busy in a loop.
 */
export function afterLife(name: string, then: () => void, graceMs = Number.POSITIVE_INFINITY): void {
  if (!locks) {
    _setTimeout(then, 0);
    return;
  }
  let done = false;
  let timer: TimerHandle | undefined;
  const controller = Number.isFinite(graceMs) && typeof AbortController === 'function' ? new AbortController() : undefined;
  const finish = (): void => {
    if (done) return;
    done = true;
    _clearTimeout(timer);
    controller?.abort();
    then();
  };
  // Given back once `then` has run (a held lock keeps Deno alive): a worker stopped before it took
  // its lock may take it afterwards, but by then its parent has marked it dead, and core's worker
  // loop does nothing for a worker marked dead (see runWorker's 'init').
  const request = controller ? locks.request(name, { signal: controller.signal }, finish) : locks.request(name, finish);
  // Aborted once the grace ran out; refused (an opaque origin has no lock manager to offer): do not wait.
  request.catch(finish);
  if (Number.isFinite(graceMs)) timer = _setTimeout(finish, graceMs);
}

/**
 * Worker side: wraps the worker's message handler. The parent's first message names the life
 * lock, which the worker then holds until it is gone; nothing else is handled before it is held,
 * so a worker reported gone can have done nothing unseen.
 */
export function withLifeLock(handler: (data: unknown) => void): (data: unknown) => void {
  let early: unknown[] | undefined = [];
  const live = (): void => {
    const queued = early ?? [];
    early = undefined;
    for (const data of queued) handler(data);
  };
  return (data) => {
    if (typeof data === 'object' && data !== null && LIFE_KEY in data) {
      if (!locks) return live();
      locks
        .request(String((data as Record<string, unknown>)[LIFE_KEY]), () => {
          live();
          return new Promise<never>(() => {}); // held until the worker is gone
        })
        .catch(live); // refused: run without it, as where Web Locks are missing
      return;
    }
    if (early) early.push(data);
    else handler(data);
  };
}

// ---------------------------------------------------------------------------
// Parent death. A child process learns that its parent died from its IPC channel closing, and
// only its event loop hears that: a process busy in a loop that never yields would run on,
// adopted by init, for good. So a child process is also ended, whatever its main thread does,
// in one of two ways:
// - 'signal': on Linux, the kernel's parent-death signal (PR_SET_PDEATHSIG), set to SIGKILL by
//   starting the child through util-linux's `setpriv --pdeathsig KILL`, which then execs the
//   runtime in place (same pid, same IPC channel). It costs the child nothing. The signal comes
//   when the thread that started the child ends: the parent process, or the worker thread that
//   started it, as the IPC channel, which that thread's event loop holds, closes then too.
// - 'thread': elsewhere (macOS, Windows, no setpriv, Deno without --allow-run for it), a small
//   worker thread in the child, with an event loop of its own, checks every PARENT_POLL_MS that
//   the parent process is still there, and otherwise ends the process with SIGKILL. It costs a
//   worker thread per process, which Deno and Bun create while the main thread waits.

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
    throw new Error(`${PARENT_WATCH_ENV} must be 'thread' (every child process watches its parent with a thread) or unset, got ${JSON.stringify(watchEnv)}`);
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
    throw new Error(
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
export function startParentWatch(args: readonly string[], proc: WatchedProcess, startThread: (source: string) => WatcherThread, report: (text: string) => void): void {
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

// ---------------------------------------------------------------------------
// Progress cells. A pool must know, when a process worker dies, which of the tasks it held had
// started: a message sent before each start would tell it, at the cost of one IPC message per
// task. A number the worker writes where the parent can read it after the worker is gone (a file
// both hold open, not a message that can die in the worker's buffers) costs one write.

const PROGRESS_ARG = '--threadkit-progress=';

/** The argument that tells a child process's worker entry the file descriptor of its progress cell. */
export function progressArg(fd: number): string {
  if (!Number.isSafeInteger(fd) || fd < 3) throw new RangeError(`progressArg: a progress cell is a file descriptor from 3 up, got ${String(fd)}`);
  return `${PROGRESS_ARG}${fd}`;
}

/** The progress cell's file descriptor that {@link progressArg} put among `args`, if any. */
export function progressFrom(args: readonly string[]): number | undefined {
  const arg = args.find((a) => a.startsWith(PROGRESS_ARG));
  if (arg === undefined) return undefined;
  const fd = Number(arg.slice(PROGRESS_ARG.length));
  return Number.isSafeInteger(fd) && fd >= 3 ? fd : undefined;
}
