/**
 * Child processes (Node's, Bun's, Deno's `node:child_process`): the parent's `WorkerHandle` for
 * one ({@link childProcesses}) and the child's side of its IPC channel ({@link ipcScope}).
 */
import { _setTimeout, _structuredClone } from '../_globals.js';
import type { SpawnOptions, WorkerEvents, WorkerHandle, WorkerScope } from '../runtime.js';
import { PARENT_WATCH_ENV, childCommand, findSetpriv } from './parent-watch.js';
import { CELL_FD, cellWriter, openCell, progressArg, type CellFiles, type CellWrite } from './progress.js';
import { EXIT_KEY, isGoodbye } from './web-worker.js';

/** A child process as {@link endAtExit} holds it. */
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

/** A `node:child_process` ChildProcess (Node's, Bun's or Deno's), as {@link childProcesses} uses it. */
export interface IpcChild extends EndableChild {
  readonly pid?: number | undefined;
  /** The IPC channel; Bun's has no `unref()`. */
  readonly channel?: { unref?(): void } | null | undefined;
  /** Absent on a child that could not be started. */
  send?(message: unknown, callback: (error: unknown) => void): unknown;
  kill(signal: 'SIGTERM' | 'SIGKILL'): unknown;
  unref(): void;
  on(event: 'message', listener: (data: unknown) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'exit' | 'close', listener: (code: number | null, signal: string | null) => void): unknown;
}

/** The stdio of a child process: stdin, stdout and stderr inherited, the IPC channel, then extra file descriptors. */
type Stdio = ('inherit' | 'ipc' | number)[];

/** What an adapter tells {@link childProcesses} about its runtime. */
export interface ChildHost {
  /** This program's `node:process`: its pid, platform and environment, and its exit, at which daemons end. */
  readonly process: {
    readonly pid: number;
    readonly platform: string;
    readonly env: { readonly [name: string]: string | undefined };
    once(event: 'exit', listener: () => void): unknown;
  };
  /** `node:child_process`'s `spawn` and `spawnSync`. */
  spawn(command: string, args: string[], options: { stdio: Stdio; serialization: 'advanced'; env?: { readonly [name: string]: string | undefined } }): IpcChild;
  spawnSync(command: string, args: string[], options: { stdio: 'ignore' }): { status: number | null };
  /** `node:os`'s `constants.signals`: signal numbers by name, for a Python-style exit code. */
  readonly signals: object;
  /** Where progress cells are made (a temporary directory; `undefined` where none may be made) and `node:fs`; absent: no cells. */
  readonly cells?: { readonly files: CellFiles; dir(): string | undefined };
  /** The environment of a new child process; absent (or `undefined`): this program's. */
  childEnv?(): { readonly [name: string]: string | undefined } | undefined;
  /** Whether this program may read an environment variable, or run a program, without a permission prompt (Deno); else it may. */
  mayRead?(variable: string): boolean;
  mayRun?(path: string): boolean;
  /**
   * The child's `close` event, which comes once the IPC channel has delivered every message, may
   * never come (Deno's, when a message was sent to the child as it exited): the child's last
   * message is then its goodbye ({@link ipcScope}'s `lastWord`), and its end is taken from `exit`
   * once that has arrived; a child that died without one (a signal) gets a moment for what it sent.
   */
  readonly lastWord?: boolean;
  /**
   * The runtime's IPC serializes later and fails there (Deno's crashes the program, "Missing
   * promise"), on a value it cannot clone: it is cloned first, so it throws at once, as on Node.
   */
  readonly cloneFirst?: boolean;
}

/** How long a child that died without a goodbye is given for its last messages to arrive (see `lastWord`). */
const LAST_MESSAGES_MS = 100;

/**
 * Parent side: an adapter's child processes as core's `WorkerHandle`s. The function it returns
 * starts a child running `run` (the runtime, its flags and the worker entry), as `fork()` would
 * (an IPC channel with the structured-clone serializer), but through setpriv where it can be
 * (see parent-watch.ts), with a progress cell where `options.progress` asks for one and the
 * runtime can make it. A daemon does not keep this program alive and ends with it. Its exit code
 * is Python's: the code it exited with, or the negative number of the signal that ended it.
 * @example
 * const spawnChild = childProcesses({ process, spawn, spawnSync, signals: constants.signals, cells: { files: fs, dir: tmpdir } });
 * spawnChild(options, events, [process.execPath, fileURLToPath(entry)]);
 */
export function childProcesses(host: ChildHost): (options: SpawnOptions, events: WorkerEvents, run: readonly string[]) => WorkerHandle {
  const { process } = host;
  // Looked for once, where this program may read the variable and run setpriv (no permission prompt).
  let setpriv: { path: string | undefined } | undefined;
  const parentDeathSignal = (): string | undefined => {
    const env = (host.mayRead?.(PARENT_WATCH_ENV) ?? true) ? process.env[PARENT_WATCH_ENV] : undefined;
    setpriv ??= {
      path: findSetpriv(process.platform, env, (path, args) => (host.mayRun?.(path) ?? true) && host.spawnSync(path, args, { stdio: 'ignore' }).status === 0),
    };
    return setpriv.path;
  };

  return (options, events, run) => {
    const cells = options.progress ? host.cells : undefined;
    const dir = cells?.dir();
    const cell = cells && dir !== undefined ? openCell(cells.files, dir, process.pid) : undefined;
    const { command, args } = childCommand(cell ? [...run, progressArg(CELL_FD)] : run, process.pid, parentDeathSignal());
    let child: IpcChild;
    try {
      const env = host.childEnv?.();
      child = host.spawn(command, args, {
        stdio: ['inherit', 'inherit', 'inherit', 'ipc', ...(cell ? [cell.fd] : [])],
        serialization: 'advanced',
        ...(env ? { env } : {}),
      });
    } catch (error) {
      cell?.close();
      throw error;
    }
    if (options.daemon) {
      child.unref();
      // Bun's IPC channel has no unref(); there the child's unref() is enough.
      child.channel?.unref?.();
      endAtExit(child, (hook) => process.once('exit', hook));
    }

    let exited: { code: number | null; signal: string | null } | undefined;
    let saidBye = false;
    let finished = false;
    const finish = (): void => {
      if (finished || !exited) return;
      finished = true;
      const { code, signal } = exited;
      try {
        events.exit(code ?? (signal ? -((host.signals as { [name: string]: number | undefined })[signal] ?? 0) : null));
      } finally {
        cell?.close();
      }
    };
    child.on('message', (data) => {
      if (!host.lastWord || !isGoodbye(data)) return events.message(data);
      saidBye = true;
      finish();
    });
    child.on('error', events.error);
    if (host.lastWord) {
      child.on('exit', (code, signal) => {
        exited = { code, signal };
        if (saidBye) finish();
        else _setTimeout(finish, LAST_MESSAGES_MS);
      });
    }
    // 'close' comes after the IPC channel has delivered every message.
    child.on('close', (code, signal) => {
      exited ??= { code, signal };
      finish();
    });
    return {
      ident: child.pid,
      pid: child.pid,
      ...(cell ? { progress: () => cell.read() } : {}),
      post: (data) => {
        // A child that could not be started has no channel; its 'error' and 'close' events report it.
        if (typeof child.send !== 'function') return;
        if (host.cloneFirst) _structuredClone(data);
        // With a callback, a send racing the child's exit reports to it rather than as an 'error' event.
        child.send(data, (error) => void error);
      },
      terminate: () => void child.kill('SIGTERM'),
      kill: () => void child.kill('SIGKILL'),
    };
  };
}

/** This child process as its worker entry sees it: the part of `node:process` (Node's, Bun's or Deno's) {@link ipcScope} uses. */
export interface IpcProcess {
  readonly argv: readonly string[];
  send?(message: unknown, sendHandle: undefined, options: undefined, callback: (error: unknown) => void): unknown;
  on(event: 'message', listener: (data: unknown) => void): unknown;
  on(event: 'disconnect', listener: () => void): unknown;
  exit(code?: number): void;
}

/**
 * Child side: the part of core's `WorkerScope` that talks to the parent over the IPC channel.
 * The process exits only once the channel has taken every message it was given, and exits with 1
 * once its parent is gone (heard only while the event loop turns: `startParentWatch` sees to a
 * process whose main thread never yields). With `write` (`node:fs`'s `writeSync`) it writes the
 * progress cell its parent gave it, if any. `cloneFirst` and `lastWord`: see {@link ChildHost}.
 * @example runWorker({ ...ipcScope(process, { write: writeSync }), onUncaught, importModule });
 */
export function ipcScope(
  proc: IpcProcess,
  options: { readonly write?: CellWrite; readonly cloneFirst?: boolean; readonly lastWord?: boolean } = {},
): Pick<WorkerScope, 'post' | 'onMessage' | 'exit' | 'progress'> {
  if (typeof proc.send !== 'function') throw new TypeError('ipcScope: this process has no IPC channel to its parent');
  // Nobody can join this process any more.
  proc.on('disconnect', () => proc.exit(1));
  let unsent = 0;
  let exitWhenSent: (() => void) | undefined;
  const post = (data: unknown): void => {
    // Throws at once when `data` cannot be cloned; the worker loop turns that into a failure.
    if (options.cloneFirst) _structuredClone(data);
    proc.send!(data, undefined, undefined, () => {
      if (--unsent === 0) exitWhenSent?.();
    });
    unsent++;
  };
  const progress = options.write ? cellWriter(proc.argv.slice(2), options.write) : undefined;
  return {
    post,
    onMessage: (handler) => void proc.on('message', handler),
    ...(progress ? { progress } : {}),
    exit: (code) => {
      // The last message says it is exiting: the parent then knows every message before it has arrived.
      if (options.lastWord) post({ [EXIT_KEY]: code });
      if (unsent === 0) proc.exit(code);
      else exitWhenSent = () => proc.exit(code);
    },
  };
}
