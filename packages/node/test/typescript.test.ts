/**
 * How a program finds and loads its task modules, as a user runs it: real programs in a temporary
 * folder outside the workspace, run as child processes, with real worker threads and processes.
 * - one `taskModule(new URL('./tasks.ts', import.meta.url))` works compiled (only tasks.js there) and not;
 * - a program run under tsx gives its workers tsx (enum, parameter properties, `./util.js` naming util.ts);
 * - tsx is an optional peer: a .ts task module on a Node without type stripping, and no tsx, is a clear error;
 * - a task module that fails to load is printed once, not once per thread and again by result().
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const nodeDist = fileURLToPath(new URL('../dist/', import.meta.url));
const coreDir = dirname(createRequire(import.meta.url).resolve('@threadkit/core/package.json'));
const nodeIndex = pathToFileURL(join(nodeDist, 'index.js')).href;
const tsxDir = dirname(createRequire(import.meta.url).resolve('tsx/package.json'));

const folders: string[] = [];
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

/** A new folder outside the workspace holding `files` (a package.json of an ES module package unless given). */
function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'threadkit-ts-'));
  folders.push(dir);
  for (const [name, text] of Object.entries({ 'package.json': '{ "type": "module" }', ...files })) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

/** Runs a program to its end (at most 60 s): its exit code and output. */
function run(cwd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // As from a user's shell: pnpm's bin shims put the workspace's packages on NODE_PATH.
    const { NODE_PATH: _, ...env } = process.env;
    const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A main that runs `tasks.f` of the module named `named` in a Thread, a Process and a Pool of each kind, printing each result or error. */
const main = (imports: string, named: string): string => `
import { Pool, Process, Thread, taskModule } from '${imports}';
const tasks = taskModule(new URL('${named}', import.meta.url));
const show = (e) => 'ERROR ' + e.name + ': ' + e.message;
for (const Kind of [Thread, Process]) {
  const w = new Kind({ target: tasks.f, args: [1] });
  w.start();
  console.log(Kind.name, await w.result().catch(show));
}
for (const kind of ['thread', 'process']) {
  const pool = new Pool({ size: 2, kind });
  console.log('Pool-' + kind, await pool.map(tasks.f, [2, 3]).then((r) => r.join(','), show));
  await pool.close();
}
`;

const EVERY_KIND = ['Thread', 'Process', 'Pool-thread', 'Pool-process'];

/** The line each kind printed. */
function lines(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const at = line.indexOf(' ');
    if (at > 0) out[line.slice(0, at)] = line.slice(at + 1);
  }
  return out;
}

describe('one task-module line, compiled or not', () => {
  it("a program naming ./tasks.ts where only the compiled tasks.js is (tsc's output) loads tasks.js, in threads, processes and pools", async () => {
    const dir = project({
      'dist/main.js': main(nodeIndex, './tasks.ts'),
      'dist/tasks.js': 'export function f(x) { return `compiled ${x}`; }\n',
    });
    const r = await run(dir, ['dist/main.js']);
    expect(r.stderr).toBe('');
    expect(lines(r.stdout)).toEqual({
      Thread: 'compiled 1',
      Process: 'compiled 1',
      'Pool-thread': 'compiled 2,compiled 3',
      'Pool-process': 'compiled 2,compiled 3',
    });
    expect(r.code).toBe(0);
  });

  it('a program naming ./tasks.js where only the source tasks.ts is loads tasks.ts', async () => {
    const dir = project({
      'main.mjs': main(nodeIndex, './tasks.js'),
      'tasks.ts': 'export function f(x: number): string { return `source ${x}`; }\n',
    });
    const r = await run(dir, ['main.mjs']);
    expect(lines(r.stdout)).toEqual({ Thread: 'source 1', Process: 'source 1', 'Pool-thread': 'source 2,source 3', 'Pool-process': 'source 2,source 3' });
    expect(r.code).toBe(0);
  });

  it('neither there: a WorkerStartError naming both files and what to do', async () => {
    const dir = project({ 'dist/main.js': main(nodeIndex, './tasks.ts') });
    const r = await run(dir, ['dist/main.js']);
    const printed = lines(r.stdout);
    const ts = join(dir, 'dist', 'tasks.ts');
    const js = join(dir, 'dist', 'tasks.js');
    for (const kind of EVERY_KIND) {
      expect(printed[kind]).toContain('ERROR WorkerStartError: ');
      expect(printed[kind]).toContain(`Cannot find the task module ${ts}, nor its compiled form ${js}: check the URL given to taskModule()`);
      expect(printed[kind]).toContain('compile the task module with the program, into the same output folder');
    }
  });
});

describe('a program run under tsx gives its workers tsx', () => {
  // What tsx accepts and Node's type stripping does not: enum, parameter properties, and a
  // relative import written with .js (the nodenext convention) that names a .ts file.
  const files = {
    'util.ts': 'export enum Color { Red = 1, Green = 2 }\nexport class Box { constructor(public readonly n: number) {} }\n',
    'tasks.ts': "import { Box, Color } from './util.js';\nexport function f(x: number): string { return `${Color[x === 1 ? 1 : 2]}:${new Box(x).n}`; }\n",
  };
  const expected = { Thread: 'Red:1', Process: 'Red:1', 'Pool-thread': 'Green:2,Green:3', 'Pool-process': 'Green:2,Green:3' };

  it('the tsx command (tsx main.ts)', async () => {
    const dir = project({ ...files, 'main.ts': main(nodeIndex, './tasks.ts') });
    const r = await run(dir, [join(tsxDir, 'dist', 'cli.mjs'), 'main.ts']);
    expect(r.stderr).toBe('');
    expect(lines(r.stdout)).toEqual(expected);
    expect(r.code).toBe(0);
  });

  it('node --import tsx main.ts, in a CommonJS package', async () => {
    const dir = project({ ...files, 'package.json': '{}', 'main.mts': main(nodeIndex, './tasks.ts') });
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(tsxDir, join(dir, 'node_modules', 'tsx'));
    const r = await run(dir, ['--import', 'tsx', 'main.mts']);
    expect(r.stderr).toBe('');
    expect(lines(r.stdout)).toEqual(expected);
    expect(r.code).toBe(0);
  });
});

describe('tsx is an optional peer dependency', () => {
  // Only a Node that cannot strip types needs tsx for a .ts task module: the workspace's Node 20 runs
  // this case; on Node >= 22.18 (the consumer suite's 22 and 24) the error cannot arise.
  const native = Boolean((process.features as { typescript?: unknown }).typescript);

  it.skipIf(native)('a .ts task module on a Node without type stripping, and no tsx installed: an error naming tsx and how to install it', async () => {
    // @threadkit/node and @threadkit/core as npm installs them, and no tsx anywhere above.
    const dir = project({ 'main.mjs': main('@threadkit/node', './tasks.ts'), 'tasks.ts': 'export function f(x: number): number { return x; }\n' });
    for (const [name, from] of [
      ['node', dirname(nodeDist)],
      ['core', coreDir],
    ] as const) {
      cpSync(join(from, 'dist'), join(dir, 'node_modules', '@threadkit', name, 'dist'), { recursive: true });
      cpSync(join(from, 'package.json'), join(dir, 'node_modules', '@threadkit', name, 'package.json'));
    }
    const r = await run(dir, ['main.mjs']);
    const printed = lines(r.stdout);
    for (const kind of EVERY_KIND) {
      expect(printed[kind]).toContain('ERROR WorkerStartError: ');
      expect(printed[kind]).toContain(`UnsupportedError: Cannot load the TypeScript task module ${join(dir, 'tasks.ts')}`);
      expect(printed[kind]).toContain('tsx is not installed; install it (npm i -D tsx)');
    }
    expect(r.code).toBe(0);
  });
});

describe('a task module that fails to load is reported once', () => {
  // The root README's first example, with its task module missing.
  const threads = (ending: string): string => `
import { Thread, taskModule } from '${nodeIndex}';
const tasks = taskModule(new URL('./tasks.ts', import.meta.url));
const threads = ['a', 'b', 'c'].map((file) => new Thread({ target: tasks.superPlayer, args: [file, 0.1] }));
for (const t of threads) t.start();
for (const t of threads) await t.join();
${ending}
`;
  const count = (text: string, what: string): number => text.split(what).length - 1;

  it('joined one by one, then result(): only the error result() throws is printed', async () => {
    const dir = project({ 'main.mjs': threads('console.log(await threads[0].result());') });
    const r = await run(dir, ['main.mjs']);
    expect(count(r.stderr, 'Exception in')).toBe(0);
    expect(count(r.stderr, 'WorkerStartError: Cannot start superPlayer on Thread-1: its module failed to load: Error: Cannot find the task module')).toBe(1);
    expect(r.code).toBe(1);
  });

  it('joined and never observed: printed once, for the first thread', async () => {
    const dir = project({ 'main.mjs': threads("console.log('exit codes', threads.map((t) => t.exitCode).join(','));") });
    const r = await run(dir, ['main.mjs']);
    expect(r.stdout).toBe('exit codes 1,1,1\n');
    expect(count(r.stderr, 'Exception in Thread-')).toBe(1);
    expect(count(r.stderr, 'Cannot find the task module')).toBe(1);
  });
});
