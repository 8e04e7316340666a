/**
 * core's `Runtime` over Node: `Thread` is a `node:worker_threads` Worker, `Process` a new Node
 * process, as `child_process.fork` would start it (an IPC channel with the structured-clone
 * ("advanced") serializer), through setpriv on Linux (see spawnProcess).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { availableParallelism, constants, tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ResourceLimits, Runtime, SpawnOptions, WorkerEvents, WorkerHandle } from '@threadkit/core';
import { childProcesses } from '@threadkit/core/adapter';
import { TSX_ENV, parentTsx, tsxFlags } from './typescript.js';

const entry = new URL('./worker.js', import.meta.url);

/**
 * The tsx this program runs under, if any (see typescript.ts), and its flags minus tsx's own:
 * under the tsx command those cost ~110 ms per worker and do not make `.ts` load in a thread on
 * Node 20; instead a worker is told which tsx to register when it loads a task module.
 */
const flags = tsxFlags(process.execArgv, process.cwd()).rest;
const tsxFolder = parentTsx();

/** The environment a worker gets: this program's, and which tsx to load task modules with. */
function workerEnv(): NodeJS.ProcessEnv | undefined {
  return tsxFolder === undefined ? undefined : { ...process.env, [TSX_ENV]: tsxFolder };
}

/** The flags of Node's own TypeScript support, which a process gets as its parent has them. */
const typeScriptFlags = flags.filter((flag) => /^--(?:no-)?experimental-(?:strip|transform)-types$/.test(flag));

function spawnThread(options: SpawnOptions, events: WorkerEvents): WorkerHandle {
  const env = workerEnv();
  const worker = new Worker(entry, { name: options.name, execArgv: flags, resourceLimits: options.resourceLimits, ...(env ? { env } : {}) });
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

/** Child processes, as `fork()` would start them (see @threadkit/core/adapter), with progress cells. */
const spawnChild = childProcesses({ process, spawn, spawnSync, signals: constants.signals, cells: { files: fs, dir: tmpdir }, childEnv: workerEnv });

function spawnProcess(options: SpawnOptions, events: WorkerEvents): WorkerHandle {
  // What fork() would run, but through setpriv where it can be: the child ends with this process
  // even when its main thread never yields (else its watcher thread sees to that: see worker.ts).
  // The parent's flags (a test runner's, a loader's) are not the child's business, but for Node's
  // TypeScript support: the child loads task modules as its parent does (tsx: see workerEnv).
  return spawnChild(options, events, [process.execPath, ...typeScriptFlags, ...limitFlags(options.resourceLimits), fileURLToPath(entry)]);
}

/** The Node runtime. */
export const nodeRuntime: Runtime = {
  name: 'node',
  capabilities: { processes: true, sharedMemory: true, resourceLimits: true },
  spawn: (options, events) => (options.kind === 'process' ? spawnProcess : spawnThread)(options, events),
  cpuCount: () => availableParallelism(),
  reportError: (text) => void process.stderr.write(`${text}\n`),
};
