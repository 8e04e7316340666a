/**
 * core's `Runtime` over Deno. A `Thread` is a module Web Worker, Deno's own; a daemon `Thread` is
 * a `node:worker_threads` Worker, because a Web Worker keeps the program alive and has no `unref`.
 * A `Process` is a new Deno process (`deno run`), started with `node:child_process` for its IPC
 * channel and structured-clone ("advanced") serializer, with a real pid and signals.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { constants, tmpdir } from 'node:os';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { Worker as NodeWorker } from 'node:worker_threads';
import { UnsupportedError, type Runtime, type SpawnOptions, type WorkerEvents, type WorkerHandle } from '@threadkit/core';
import { LIFE_KEY, afterLife, childProcesses, lifeName, webWorkerEnd } from '@threadkit/core/adapter';
import { Deno, WebWorker, hardwareConcurrency, permissionDenied, type PermissionName } from './host.js';

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
  // A Web Worker has no exit event, and runs on for a moment after terminate(): its end is
  // reported once its life lock is free, or after LIFE_GRACE_MS; its last message says how it
  // ended (see @threadkit/core/adapter). What arrives as an error event is a failure to load the entry.
  const life = webWorkerEnd(options.name, events, (event) => explainStart(event.error ?? new Error(event.message), ENTRY), LIFE_GRACE_MS);
  life.attach(worker);
  return {
    ident: ++lastIdent,
    pid: undefined,
    post: (data, transfer) => worker.postMessage(data, transfer),
    terminate: () => life.end(null),
    kill: () => life.end(null),
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

/** Whether this program holds the permission (querySync never prompts). */
const may = (descriptor: Parameters<NonNullable<typeof Deno>['permissions']['querySync']>[0]): boolean =>
  Deno!.permissions.querySync(descriptor).state === 'granted';

const PERMISSIONS: readonly PermissionName[] = ['read', 'write', 'net', 'env', 'sys', 'run', 'ffi', 'import'];

/**
 * The permission flags of a child process: every permission this program holds in full, and
 * read access to the working directory where only that part is granted. Deno does not tell a
 * program its allow-lists, so other partial grants (`--allow-net=host`) are not passed on.
 */
function permissionFlags(): string[] {
  const flags: string[] = [];
  for (const name of PERMISSIONS) {
    if (may({ name })) flags.push(`--allow-${name}`);
  }
  if (!flags.includes('--allow-read') && may({ name: 'read', path: process.cwd() })) {
    flags.push(`--allow-read=${process.cwd()}`);
  }
  // Given no permission flag at all, Deno's node:child_process runs `deno run` with -A. Denying
  // FFI, which this program does not hold in full, changes nothing under --no-prompt.
  if (flags.length === 0) flags.push('--deny-ffi');
  return flags;
}

/**
 * Where progress cells are made: the temporary directory, where this program may find it
 * (--allow-env) and read and write there; else nowhere, and a pool's process tells of each task
 * it starts by message. Asked first, so that no permission prompt appears.
 */
function cellDir(): string | undefined {
  if (!may({ name: 'env' })) return undefined;
  const dir = tmpdir();
  return may({ name: 'read', path: dir }) && may({ name: 'write', path: dir }) ? dir : undefined;
}

/**
 * Child processes (see @threadkit/core/adapter): setpriv, the parent watch's variable and the
 * temporary directory only where this program may use them. Deno's IPC needs the child's goodbye
 * and values cloned before they are sent.
 */
const spawnChild = childProcesses({
  process,
  spawn,
  spawnSync,
  signals: constants.signals,
  cells: { files: fs, dir: cellDir },
  mayRead: (variable) => may({ name: 'env', variable }),
  mayRun: (command) => may({ name: 'run', command }),
  lastWord: true,
  cloneFirst: true,
});

function spawnProcess(options: SpawnOptions, events: WorkerEvents): WorkerHandle {
  // In a `deno compile`d program, Deno.execPath() is the program itself: `run <entry>` would start
  // the program again, which would start its processes again.
  if (Deno!.build.standalone) {
    throw new UnsupportedError(
      'a Process is a new Deno process (deno run), and a program built with `deno compile` has no deno to run; use a Thread, or run the program with deno run',
    );
  }
  try {
    // --no-prompt: a permission the child lacks fails with an error naming it, not a prompt racing the parent's.
    return spawnChild(options, events, [Deno!.execPath(), 'run', '--no-prompt', ...permissionFlags(), fileURLToPath(entry)]);
  } catch (error) {
    throw explainStart(error, 'which a Process needs: it is a new Deno process, started by node:child_process, which needs --allow-run and --allow-env');
  }
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
