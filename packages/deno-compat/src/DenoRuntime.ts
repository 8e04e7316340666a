/**
 * core's `Runtime` over Deno. A `Thread` is a module Web Worker, Deno's own; a daemon `Thread` is
 * a `node:worker_threads` Worker, because a Web Worker keeps the program alive and has no `unref`.
 * A `Process` is a new Deno process (`deno run`), started with `node:child_process` for its IPC
 * channel and structured-clone ("advanced") serializer, with a real pid and signals.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { Worker as NodeWorker } from 'node:worker_threads';
import type { Runtime, SpawnOptions, WorkerEvents, WorkerHandle } from '@threadkit/core';
import { LIFE_KEY, PARENT_WATCH_ENV, afterLife, childCommand, endAtExit, findSetpriv, lifeName } from '@threadkit/core/adapter';
import { Deno, EXIT_KEY, WebWorker, hardwareConcurrency, permissionDenied, type PermissionName } from './host.js';

const entry = new URL('./worker.js', import.meta.url);

// Thread idents: Web Workers have no thread id, and one counter keeps both kinds of thread apart.
let lastIdent = 0;

/** A clear error for a worker Deno refused to start for lack of a permission; any other error as it is. */
function explainStart(error: unknown, what: string): unknown {
  const denied = permissionDenied(error);
  if (!denied) return error;
  const target = denied.what ? ` to ${denied.what}` : '';
  return new Error(`Deno denied ${denied.name} access${target}, ${what}: run with ${denied.flag}`, { cause: error });
}

const ENTRY = `which a thread needs to load threadkit's worker entry (${fileURLToPath(entry)}) and the modules it imports`;

/**
 * How long the end of a thread that still runs after terminate() is waited for. Deno never stops
 * a worker busy in a loop that does not yield (a Web Worker or a node:worker_threads one, Deno
 * 2.9): such a thread is reported gone after this long, and runs on until its loop ends.
 */
const LIFE_GRACE_MS = 2000;

function spawnWebThread(options: SpawnOptions, events: WorkerEvents): WorkerHandle {
  const worker = new WebWorker(entry.href, { type: 'module', name: options.name });
  // A Web Worker has no exit event, and runs on for a moment after terminate(): it holds this Web
  // Lock for as long as it lives, and its end is reported once the lock is free (see
  // @threadkit/core/adapter), or after LIFE_GRACE_MS. Its last message says how it ended (see worker.ts).
  const life = lifeName();
  worker.postMessage({ [LIFE_KEY]: life });
  let ended = false;
  const end = (code: number | null): void => {
    if (ended) return;
    ended = true;
    worker.terminate();
    afterLife(life, () => events.exit(code), LIFE_GRACE_MS);
  };
  worker.addEventListener('message', ({ data }) => {
    if (ended) return;
    if (isExitMarker(data)) end(data[EXIT_KEY]);
    else events.message(data);
  });
  worker.addEventListener('messageerror', () => {
    if (!ended) events.error(new Error(`a message from ${options.name} could not be deserialized`));
  });
  worker.addEventListener('error', (event) => {
    // Unhandled, it would end the whole program. The worker entry reports its own uncaught
    // errors through core's protocol, so what arrives here is a failure to load the entry.
    event.preventDefault();
    if (ended) return;
    events.error(explainStart(event.error ?? new Error(event.message), ENTRY));
    end(1);
  });
  const stop = (): void => {
    if (ended) return;
    ended = true;
    worker.terminate();
    afterLife(life, () => events.exit(null), LIFE_GRACE_MS);
  };
  return {
    ident: ++lastIdent,
    pid: undefined,
    post: (data, transfer) => worker.postMessage(data, transfer),
    terminate: stop,
    kill: stop,
  };
}

function spawnDaemonThread(options: SpawnOptions, events: WorkerEvents): WorkerHandle {
  let worker: NodeWorker;
  try {
    worker = new NodeWorker(entry, { name: options.name });
  } catch (error) {
    throw explainStart(error, ENTRY);
  }
  // Deno emits 'exit' inside terminate(), before the worker has stopped: it holds a life lock, as
  // a Web Worker does, and its end is reported once the lock is free (which is also after the call
  // that caused it: a Pool terminating its workers one by one must not see its list change under it).
  const life = lifeName();
  worker.postMessage({ [LIFE_KEY]: life });
  worker.on('message', events.message);
  worker.on('error', (error) => events.error(explainStart(error, ENTRY)));
  worker.on('exit', (code) => afterLife(life, () => events.exit(code), LIFE_GRACE_MS));
  worker.unref();
  return {
    ident: ++lastIdent,
    pid: undefined,
    post: (data, transfer) => worker.postMessage(data, transfer as never),
    terminate: () => void worker.terminate(),
    kill: () => void worker.terminate(),
  };
}

/** How long a process that died without saying goodbye is given for its last messages to arrive. */
const LAST_MESSAGES_MS = 100;

const isExitMarker = (data: unknown): data is Record<typeof EXIT_KEY, number> => typeof data === 'object' && data !== null && EXIT_KEY in data;

const PERMISSIONS: readonly PermissionName[] = ['read', 'write', 'net', 'env', 'sys', 'run', 'ffi', 'import'];

/**
 * The permission flags of a child process: every permission this program holds in full, and
 * read access to the working directory where only that part is granted. Deno does not tell a
 * program its allow-lists, so other partial grants (`--allow-net=host`) are not passed on.
 */
function permissionFlags(): string[] {
  const flags: string[] = [];
  for (const name of PERMISSIONS) {
    if (Deno!.permissions.querySync({ name }).state === 'granted') flags.push(`--allow-${name}`);
  }
  if (!flags.includes('--allow-read') && Deno!.permissions.querySync({ name: 'read', path: process.cwd() }).state === 'granted') {
    flags.push(`--allow-read=${process.cwd()}`);
  }
  // Given no permission flag at all, Deno's node:child_process runs `deno run` with -A. Denying
  // FFI, which this program does not hold in full, changes nothing under --no-prompt.
  if (flags.length === 0) flags.push('--deny-ffi');
  return flags;
}


/**
 * The setpriv that gives child processes a parent-death signal, looked for once (see
 * @threadkit/core/adapter): only where this program may run it (`--allow-run` in full, or for
 * it), which is asked first, so that no permission prompt appears; else each child watches its
 * parent with a thread.
 */
let setpriv: { path: string | undefined } | undefined;
function parentDeathSignal(): string | undefined {
  if (!setpriv) {
    const may = (descriptor: Parameters<NonNullable<typeof Deno>['permissions']['querySync']>[0]): boolean => Deno!.permissions.querySync(descriptor).state === 'granted';
    const env = may({ name: 'env', variable: PARENT_WATCH_ENV }) ? process.env[PARENT_WATCH_ENV] : undefined;
    setpriv = { path: findSetpriv(process.platform, env, (path, args) => may({ name: 'run', command: path }) && spawnSync(path, args, { stdio: 'ignore' }).status === 0) };
  }
  return setpriv.path;
}

function spawnProcess(options: SpawnOptions, events: WorkerEvents): WorkerHandle {
  // In a `deno compile`d program, Deno.execPath() is the program itself: `run <entry>` would start
  // the program again, which would start its processes again.
  if (Deno!.build.standalone) {
    throw new Error('a Process is a new Deno process (deno run), and a program built with `deno compile` has no deno to run; use a Thread, or run the program with deno run');
  }
  let child: ChildProcess;
  try {
    // --no-prompt: a permission the child lacks fails with an error naming it, not a prompt racing the parent's.
    // Through setpriv where it can be: the child ends with this process even when its main
    // thread never yields (else its watcher thread sees to that: see worker.ts).
    const { command, args } = childCommand([Deno!.execPath(), 'run', '--no-prompt', ...permissionFlags(), fileURLToPath(entry)], process.pid, parentDeathSignal());
    child = spawn(command, args, {
      stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
  } catch (error) {
    throw explainStart(error, 'which a Process needs: it is a new Deno process, started by node:child_process, which needs --allow-run and --allow-env');
  }
  if (options.daemon) {
    child.unref();
    (child.channel as { unref?(): void } | null | undefined)?.unref?.();
    endAtExit(child, (hook) => process.once('exit', hook));
  }
  // Deno's ChildProcess never emits 'close' when a message was sent to the child as it exited,
  // so the end is taken from 'exit', once the child's last message (which says it is exiting)
  // has arrived; a child that died without one (a signal) gets a moment for what it sent.
  let exited: { code: number | null; signal: string | null } | undefined;
  let saidBye = false;
  let finished = false;
  const finish = (): void => {
    if (finished || !exited) return;
    finished = true;
    const { code, signal } = exited;
    events.exit(code ?? (signal ? -((constants.signals as Record<string, number>)[signal] ?? 0) : null));
  };
  child.on('message', (data: unknown) => {
    if (!isExitMarker(data)) return events.message(data);
    saidBye = true;
    finish();
  });
  child.on('error', events.error);
  child.on('exit', (code, signal) => {
    exited = { code, signal };
    if (saidBye) finish();
    else setTimeout(finish, LAST_MESSAGES_MS);
  });
  child.on('close', (code, signal) => {
    exited ??= { code, signal };
    finish();
  });
  return {
    ident: child.pid,
    pid: child.pid,
    post: (data) => {
      // A child that failed to spawn has no channel; its 'error' and 'close' events report it.
      if (typeof child.send !== 'function') return;
      // Deno's IPC serializes later and, on a value it cannot clone, crashes the program ("Missing
      // promise"): clone it here first, so an uncloneable argument throws at once as on Node.
      structuredClone(data);
      // With a callback, a send racing the child's exit reports to it rather than as an 'error' event.
      child.send(data as never, (error) => void error);
    },
    terminate: () => void child.kill('SIGTERM'),
    kill: () => void child.kill('SIGKILL'),
  };
}

/** The Deno runtime. */
export const denoRuntime: Runtime = {
  name: 'deno',
  capabilities: { processes: true, sharedMemory: true },
  spawn: (options, events) => {
    if (options.kind === 'process') return spawnProcess(options, events);
    return options.daemon ? spawnDaemonThread(options, events) : spawnWebThread(options, events);
  },
  cpuCount: hardwareConcurrency,
  reportError: (text) => console.error(text),
};
