/**
 * Worker processes for the tests, each an "other machine": a temporary folder of its own with its
 * own copy of the task module and `@threadkit/redis` installed (linked) in its node_modules,
 * running the package's `threadkit-worker` command from there. Every process is stopped by its pid.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, '..');

export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly dir: string;
  readonly label: string;
  /** What it wrote to stderr so far. */
  stderr(): string;
  /** Resolves with its exit code (or signal) once it has gone. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): void;
}

export interface WorkerOptions {
  readonly url: string;
  readonly name: string;
  readonly label: string;
  readonly size?: number;
  readonly kind?: 'thread' | 'process' | 'inline';
  readonly lease?: number;
  readonly concurrency?: number;
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

const all = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of all) c.kill('SIGKILL');
});

/** Makes an "other machine": a folder with tasks.ts and node_modules/@threadkit/{redis,node}. */
export function machineFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'threadkit-machine-'));
  copyFileSync(join(here, 'fixtures', 'tasks.ts'), join(dir, 'tasks.ts'));
  writeFileSync(join(dir, 'package.json'), '{ "type": "module", "private": true }\n');
  mkdirSync(join(dir, 'node_modules', '@threadkit'), { recursive: true });
  symlinkSync(pkg, join(dir, 'node_modules', '@threadkit', 'redis'), 'dir');
  symlinkSync(join(pkg, 'node_modules', '@threadkit', 'node'), join(dir, 'node_modules', '@threadkit', 'node'), 'dir');
  return dir;
}

/** Starts `threadkit-worker` in a folder of its own; resolves once it says it is ready. */
export async function startWorker(o: WorkerOptions): Promise<WorkerProcess> {
  const dir = machineFolder();
  const args = [
    join(dir, 'node_modules', '@threadkit', 'redis', 'dist', 'bin.js'),
    '--connection',
    o.url,
    '--name',
    o.name,
    '--tasks',
    'tasks=./tasks.ts',
    ...(o.kind === 'inline' ? [] : ['--size', String(o.size ?? 1)]),
    '--kind',
    o.kind ?? 'thread',
    ...(o.lease ? ['--lease', String(o.lease)] : []),
    ...(o.concurrency ? ['--concurrency', String(o.concurrency)] : []),
    ...(o.args ?? []),
  ];
  const child = spawn(process.execPath, args, {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...o.env, THREADKIT_TEST_WORKER: o.label },
  });
  all.add(child);
  let err = '';
  child.stderr!.on('data', (d) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      all.delete(child);
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, signal });
    }),
  );
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d.toString();
      if (out.includes('ready ')) resolve();
    });
    void exited.then(({ code, signal }) => reject(new Error(`worker ${o.label} exited (${code ?? signal}) before it was ready:\n${err}`)));
  });
  return {
    child,
    pid: child.pid!,
    dir,
    label: o.label,
    stderr: () => err,
    exited,
    kill: (signal = 'SIGKILL') => {
      child.kill('SIGCONT');
      child.kill(signal);
    },
  };
}

/** Stops workers (SIGKILL) and waits until they have gone. */
export async function stopAll(workers: readonly WorkerProcess[]): Promise<void> {
  for (const w of workers) w.kill('SIGKILL');
  await Promise.all(workers.map((w) => w.exited));
}
