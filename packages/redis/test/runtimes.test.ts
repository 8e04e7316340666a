/**
 * Bun and Deno: the same program (a worker and a caller, a queue and a lock) run by each, from a
 * folder of its own, against a real redis-server.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { machineFolder } from './cluster.js';
import { type RedisServer, startRedis } from './redis-server.js';

const here = dirname(fileURLToPath(import.meta.url));
// The runtimes' own executables, not their npm wrappers: a timed-out run is killed with nothing left behind.
const bun = join(here, '..', 'node_modules', 'bun', 'bin', 'bun.exe');
const deno = join(here, '..', 'node_modules', 'deno', 'deno');
const run = promisify(execFile);
const expected = ['apply 5', 'map 2,4,6,8', 'context 1', 'error TaskError ValidationError', 'queue 7', 'lock true', 'done'];

let redis: RedisServer;
let dir: string;
beforeAll(async () => {
  redis = await startRedis();
  dir = machineFolder();
  copyFileSync(join(here, 'fixtures', 'runtimes.ts'), join(dir, 'runtimes.ts'));
});
afterAll(async () => {
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

it('runs under Bun: RemotePool, serve() with a pool of threads, RemoteQueue, RemoteLock', async () => {
  const { stdout } = await run(bun, ['runtimes.ts'], { cwd: dir, env: { ...process.env, REDIS_URL: redis.url }, timeout: 50_000, killSignal: 'SIGKILL' });
  expect(stdout.trim().split('\n')).toEqual(expected);
});

it('runs under Deno (npm packages through its Node compatibility)', async () => {
  const { stdout } = await run(deno, ['run', '-A', '--node-modules-dir=manual', 'runtimes.ts'], {
    cwd: dir,
    env: { ...process.env, REDIS_URL: redis.url, DENO_NO_UPDATE_CHECK: '1' },
    timeout: 50_000,
    killSignal: 'SIGKILL',
  });
  expect(stdout.trim().split('\n')).toEqual(expected);
});
