/**
 * core's `Runtime` over Node: `Thread` is a `node:worker_threads` Worker, `Process` a new Node
 * process, as `child_process.fork` would start it (an IPC channel with the structured-clone
 * ("advanced") serializer), through setpriv on Linux (see spawnProcess).
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readSync, unlinkSync } from 'node:fs';
import { availableParallelism, constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ResourceLimits, Runtime, SpawnOptions, WorkerEvents, WorkerHandle } from '@threadkit/core';
import { PARENT_WATCH_ENV, childCommand, endAtExit, findSetpriv, progressArg } from '@threadkit/core/adapter';

const entry = new URL('./worker.js', import.meta.url);


/**
 * The parent's flags minus tsx's own: under the tsx CLI they cost ~110 ms per worker and do not
 * make `.ts` load in workers on Node 20 (the worker entry registers tsx itself when needed).
 */
function workerExecArgv(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    if ((arg === '--require' || arg === '-r' || arg === '--import' || arg === '--loader') && next && /(^tsx$)|[\\/]tsx[\\/]/.test(next)) {
      i++;
      continue;
    }
    if (/^--(require|import|loader)=.*[\\/]tsx[\\/]/.test(arg)) continue;
    out.push(arg);
  }
  return out;
}

function spawnThread(options: SpawnOptions, events: WorkerEvents): WorkerHandle {
  const worker = new Worker(entry, { name: options.name, execArgv: workerExecArgv(), resourceLimits: options.resourceLimits });
  worker.on('message', events.message);
  worker.on('error', events.error);
  worker.on('exit', (code) => events.exit(code));
  // After the listeners: adding a 'message' listener refs the worker's port again.
  if (options.daemon) worker.unref();
  return {
    ident: worker.threadId,
    pid: undefined,
    post: (data, transfer) => worker.postMessage(data, transfer as never),
    terminate: () => void worker.terminate(),
    kill: () => void worker.terminate(),
  };
}

/** V8's flags for a process's memory limits (its young generation is three semi-spaces). */
function limitFlags(limits: ResourceLimits | undefined): string[] {
  if (!limits) return [];
  const flags: string[] = [];
  if (limits.maxOldGenerationSizeMb) flags.push(`--max-old-space-size=${Math.ceil(limits.maxOldGenerationSizeMb)}`);
  if (limits.maxYoungGenerationSizeMb) flags.push(`--max-semi-space-size=${Math.max(1, Math.ceil(limits.maxYoungGenerationSizeMb / 3))}`);
  if (limits.stackSizeMb) flags.push(`--stack-size=${Math.floor(limits.stackSizeMb * 1024)}`);
  return flags;
}

/** The setpriv that gives child processes a parent-death signal, looked for once (see @threadkit/core/adapter). */
let setpriv: { path: string | undefined } | undefined;
function parentDeathSignal(): string | undefined {
  setpriv ??= { path: findSetpriv(process.platform, process.env[PARENT_WATCH_ENV], (path, args) => spawnSync(path, args, { stdio: 'ignore' }).status === 0) };
  return setpriv.path;
}

let cells = 0;

/**
 * A progress cell (see @threadkit/core/adapter): a file this process and the child both hold open,
 * unlinked at once so nothing is left behind; undefined where no file can be made.
 */
function openCell(): { fd: number; path: string | undefined } | undefined {
  const path = join(tmpdir(), `threadkit-${process.pid}-${++cells}-${Math.random().toString(36).slice(2)}`);
  let fd: number;
  try {
    fd = openSync(path, 'wx+', 0o600);
  } catch {
    return undefined;
  }
  try {
    unlinkSync(path);
    return { fd, path: undefined };
  } catch {
    return { fd, path }; // Windows: removed once closed
  }
}

function closeCell(cell: { fd: number; path: string | undefined }): void {
  try {
    closeSync(cell.fd);
    if (cell.path) unlinkSync(cell.path);
  } catch {}
}

/** The child's fd for its progress cell: the stdio slot after the IPC channel's. */
const CELL_FD = 4;

function spawnProcess(options: SpawnOptions, events: WorkerEvents): WorkerHandle {
  // What fork() would run, but through setpriv where it can be: the child ends with this process
  // even when its main thread never yields (else its watcher thread sees to that: see worker.ts).
  // The parent's flags (a test runner's, a loader's) are not the child's business.
  const cell = options.progress ? openCell() : undefined;
  const run = [process.execPath, ...limitFlags(options.resourceLimits), fileURLToPath(entry), ...(cell ? [progressArg(CELL_FD)] : [])];
  const { command, args } = childCommand(run, process.pid, parentDeathSignal());
  let child;
  try {
    child = spawn(command, args, { stdio: ['inherit', 'inherit', 'inherit', 'ipc', ...(cell ? [cell.fd] : [])], serialization: 'advanced' });
  } catch (error) {
    if (cell) closeCell(cell);
    throw error;
  }
  if (options.daemon) {
    child.unref();
    // Bun's IPC channel has no unref(); there the child's unref() is enough (test/bun/bun.test.ts).
    (child.channel as { unref?(): void } | null | undefined)?.unref?.();
    endAtExit(child, (hook) => process.once('exit', hook));
  }
  child.on('message', events.message);
  child.on('error', events.error);
  // 'close', not 'exit': it comes after the IPC channel has delivered every message.
  child.on('close', (code, signal) => {
    try {
      events.exit(code ?? (signal ? -(constants.signals[signal] ?? 0) : null));
    } finally {
      if (cell) closeCell(cell);
    }
  });
  const cellBytes = Buffer.alloc(4);
  return {
    ident: child.pid,
    pid: child.pid,
    ...(cell ? { progress: () => (readSync(cell.fd, cellBytes, 0, 4, 0) === 4 ? cellBytes.readInt32LE(0) : 0) } : {}),
    // With a callback, a send racing the child's exit reports to it rather than as an 'error' event.
    post: (data) => void child.send(data as never, (error) => void error),
    terminate: () => void child.kill('SIGTERM'),
    kill: () => void child.kill('SIGKILL'),
  };
}

/** The Node runtime. */
export const nodeRuntime: Runtime = {
  name: 'node',
  capabilities: { processes: true, sharedMemory: true, resourceLimits: true },
  spawn: (options, events) => (options.kind === 'process' ? spawnProcess : spawnThread)(options, events),
  cpuCount: () => availableParallelism(),
  reportError: (text) => void process.stderr.write(`${text}\n`),
};
