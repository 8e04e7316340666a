/**
 * Faults that are not a matter of killing: an explicit exit is not an exception (nothing is
 * printed), and a Pool constructor never blocks (a size it cannot create is refused with a named
 * error; otherwise its workers start after it returns).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Pool, ThreadkitError } from '@threadkit/node';
import { descendants } from '../src/pids.ts';
import { distDir, taskModuleOf } from '../src/tasks.ts';

const tasks = taskModuleOf<typeof import('../src/tasks/bad-input.ts')>('bad-input');

function runExitProgram(kind: string, mode: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [fileURLToPath(new URL('exit-program.js', distDir)), kind, mode], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('an explicit exit is an ending, not an exception', () => {
  for (const kind of ['thread', 'process']) {
    it(`${kind}: exit(3), then join() and exitCode: nothing is printed`, () => {
      const r = runExitProgram(kind, 'exit3-joined');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/exitCode 3/);
      expect(r.stderr).not.toMatch(/Exception in|WorkerExitError/);
    });

    it(`${kind}: exit(3) never joined: nothing is printed`, () => {
      const r = runExitProgram(kind, 'exit3-alone');
      expect(r.status).toBe(0);
      expect(r.stderr).not.toMatch(/Exception in|WorkerExitError/);
    });

    it(`${kind}: exit(0): exitCode 0, nothing printed`, () => {
      const r = runExitProgram(kind, 'exit0');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/exitCode 0/);
      expect(r.stderr).not.toMatch(/Exception in|WorkerExitError/);
    });

    // The control: the program's stderr is where a report would show.
    it(`${kind}: an error nobody observes is printed (the control)`, () => {
      const r = runExitProgram(kind, 'fail-unobserved');
      expect(r.stderr).toMatch(/Exception in (Thread|Process)-1/);
    });
  }
});

/** The OS threads of this process now. */
function osThreads(): number {
  return Number(/^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
}

describe('a Pool constructor never blocks', () => {
  for (const kind of ['thread', 'process']) {
    it(`new Pool({ kind: '${kind}', size: 100000 }) is refused with a named error naming size`, () => {
      const r = spawnSync(process.execPath, [fileURLToPath(new URL('pool-program.js', distDir)), kind, '100000'], {
        encoding: 'utf8',
        timeout: 120_000,
        killSignal: 'SIGKILL',
      });
      expect(r.status, `the program ended with ${r.signal ?? r.status}: ${r.stderr.slice(-500)}`).toBe(0);
      const outcome = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as { threw: boolean; isRangeError?: boolean; code?: unknown; message?: string };
      expect(outcome.threw, 'a size of 100000 was accepted').toBe(true);
      expect(outcome.isRangeError || typeof outcome.code === 'string', JSON.stringify(outcome)).toBe(true);
      expect(outcome.message).toMatch(/size/);
    });
  }

  // Counting what the constructor started before it returned, not how long it took: a Worker
  // thread or a forked process exists as soon as it is created.
  for (const [kind, size] of [
    ['thread', 400],
    ['thread', 200],
    ['process', 48],
  ] as const) {
    it(`new Pool({ kind: '${kind}', size: ${size} }) is refused with a named error naming size, or returns before starting its workers`, async () => {
      const threads = osThreads();
      const children = descendants(process.pid).length;
      let pool: Pool;
      try {
        pool = new Pool({ kind, size });
      } catch (error) {
        expect(error instanceof RangeError || (error instanceof ThreadkitError && typeof error.code === 'string'), String(error)).toBe(true);
        expect((error as Error).message).toMatch(/size/);
        return;
      }
      try {
        const started = kind === 'thread' ? osThreads() - threads : descendants(process.pid).length - children;
        expect(started, `the constructor started ${started} ${kind}s before it returned`).toBeLessThan(8);
        // And the pool works.
        expect(await pool.apply(tasks.add, [2, 3])).toBe(5);
      } finally {
        await pool.terminate();
      }
    });
  }
});
