/**
 * Faults, for real: workers killed with SIGKILL mid-task, drained with SIGTERM, Redis killed,
 * restarted (with and without its data) and paused past a lease, a wrong password, Redis
 * unreachable, foreign jobs. Every call settles exactly once; nothing hangs.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AbortError, TimeoutError } from '@threadkit/core';
import { RedisConnectionError, RemotePool, TaskLostError, remoteTasks } from '@threadkit/redis';
import { Queue } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type WorkerProcess, startWorker, stopAll } from './cluster.js';
import { type RedisServer, freePort, startRedis } from './redis-server.js';

type Tasks = typeof import('./fixtures/tasks.ts');
const tasks = remoteTasks<Tasks>('tasks');

const dir = mkdtempSync(join(tmpdir(), 'threadkit-faults-'));
let n = 0;
const logFile = (): string => join(dir, `log-${++n}.txt`);
const lines = (log: string): string[] => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : []);

async function until<T>(what: string, check: () => T | undefined | false, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Settles of a promise, counted: a call must settle exactly once. */
function settled<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

const workers: WorkerProcess[] = [];
const servers: RedisServer[] = [];
async function worker(url: string, name: string, label: string, extra: Partial<Parameters<typeof startWorker>[0]> = {}): Promise<WorkerProcess> {
  const w = await startWorker({ url, name, label, size: 1, lease: 1000, ...extra });
  workers.push(w);
  return w;
}
async function redis(options?: Parameters<typeof startRedis>[0]): Promise<RedisServer> {
  const r = await startRedis(options);
  servers.push(r);
  return r;
}

let shared: RedisServer;
beforeAll(async () => {
  shared = await redis();
});
afterEach(async () => {
  await stopAll(workers.splice(0));
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  rmSync(dir, { recursive: true, force: true });
});

describe('workers that die', () => {
  it('runs a task again elsewhere when its worker is killed -9 mid-task; the caller gets one answer, attempt 2', async () => {
    const name = 'kill9';
    const [a, b] = await Promise.all([worker(shared.url, name, 'A'), worker(shared.url, name, 'B')]);
    await using pool = new RemotePool({ connection: shared.url, name });
    const log = logFile();
    const call = pool.apply(tasks.logged, [log, 1500]);
    const first = await until('the task to start', () => lines(log).find((l) => l.startsWith('started')));
    const victim = first.endsWith(' A') ? a : b;
    const survivor = victim === a ? 'B' : 'A';
    victim.kill('SIGKILL');
    const result = await call;
    expect(result).toEqual({ worker: survivor, attempt: 2 });
    const starts = lines(log).filter((l) => l.startsWith('started'));
    expect(starts.map((l) => l.split(' ').slice(2))).toEqual([
      ['1', victim.label],
      ['2', survivor],
    ]);
    expect(pool.stats().duplicates).toBe(0);
  });

  it('fails the call with TaskLostError instead of running it twice with maxAttempts 1 (at most once)', async () => {
    const name = 'atmostonce';
    const [a, b] = await Promise.all([worker(shared.url, name, 'A'), worker(shared.url, name, 'B')]);
    await using pool = new RemotePool({ connection: shared.url, name, maxAttempts: 1 });
    const log = logFile();
    const call = settled(pool.apply(tasks.logged, [log, 1500]));
    const first = await until('the task to start', () => lines(log).find((l) => l.startsWith('started')));
    (first.endsWith(' A') ? a : b).kill('SIGKILL');
    const r = await call;
    expect(r.ok).toBe(false);
    expect((r as { error: unknown }).error).toBeInstanceOf(TaskLostError);
    expect(String((r as { error: Error }).error.message)).toContain('maxAttempts 1');
    expect(lines(log).filter((l) => l.startsWith('started'))).toHaveLength(1);
    // Per call, too: the pool allows 3, this call 1.
    await using again = new RemotePool({ connection: shared.url, name });
    const ctx = await again.apply(tasks.context, [], { maxAttempts: 1 });
    expect(ctx.maxAttempts).toBe(1);
  });

  it('drains on SIGTERM: the running task finishes and answers once, nothing new is taken, nothing runs twice', async () => {
    const name = 'drain';
    const a = await worker(shared.url, name, 'A');
    await using pool = new RemotePool({ connection: shared.url, name });
    const log = logFile();
    const running = pool.apply(tasks.logged, [log, 1200]);
    await until('the task to start', () => lines(log).find((l) => l.startsWith('started')));
    a.kill('SIGTERM');
    // Taken only after the drain began: must wait for another worker.
    await until('the drain to begin', () => a.stderr().includes('draining'));
    const later = pool.apply(tasks.logged, [log, 10]);
    expect(await running).toEqual({ worker: 'A', attempt: 1 });
    expect(await a.exited).toEqual({ code: 0, signal: null });
    await worker(shared.url, name, 'B');
    expect(await later).toEqual({ worker: 'B', attempt: 1 });
    expect(
      lines(log)
        .filter((l) => l.startsWith('started'))
        .map((l) => l.split(' ').slice(2).join(' ')),
    ).toEqual(['1 A', '1 B']);
  });

  it("a task that kills its worker's thread fails with WorkerExitError; the worker process serves on", async () => {
    const name = 'exitthread';
    await worker(shared.url, name, 'A');
    await using pool = new RemotePool({ connection: shared.url, name });
    const error = await pool.apply(tasks.exitWorker, [3]).catch((e: unknown) => e);
    expect((error as Error).name).toBe('WorkerExitError');
    expect(await pool.apply(tasks.add, [1, 1])).toBe(2);
  });
});

describe('cancellation', () => {
  it("aborts a running task on another machine: the call rejects at once and the task's taskSignal() aborts", async () => {
    const name = 'abort';
    await worker(shared.url, name, 'A');
    await using pool = new RemotePool({ connection: shared.url, name });
    const log = logFile();
    const controller = new AbortController();
    const call = pool.apply(tasks.spin, [log], { signal: controller.signal });
    await until('the task to spin', () => lines(log).find((l) => l.startsWith('spinning')));
    controller.abort();
    await expect(call).rejects.toBeInstanceOf(AbortError);
    await until('the task to stop', () => lines(log).find((l) => l.startsWith('stopped')));
    // Timeout does the same.
    const timed = pool.apply(tasks.spin, [log], { timeout: 300 });
    await expect(timed).rejects.toBeInstanceOf(TimeoutError);
    await until('the timed-out task to stop', () => lines(log).filter((l) => l.startsWith('stopped')).length === 2);
    expect(pool.stats()).toMatchObject({ aborted: 1, timedOut: 1 });
  });

  it('kills the local worker of a task that ignores its signal after abortGrace; the worker process serves on', async () => {
    const name = 'stubborn';
    await worker(shared.url, name, 'A', { args: ['--abort-grace', '200'] });
    await using pool = new RemotePool({ connection: shared.url, name });
    const log = logFile();
    await expect(pool.apply(tasks.stubborn, [log], { timeout: 300 })).rejects.toBeInstanceOf(TimeoutError);
    expect(await pool.apply(tasks.add, [2, 2])).toBe(4);
  });

  it('a queued task that is cancelled never runs; with no worker serving, a call waits and its timeout works', async () => {
    const name = 'queued';
    await using pool = new RemotePool({ connection: shared.url, name });
    const log = logFile();
    await expect(pool.apply(tasks.logged, [log, 10], { timeout: 300 })).rejects.toBeInstanceOf(TimeoutError);
    const controller = new AbortController();
    const aborted = pool.apply(tasks.logged, [log, 10], { signal: controller.signal });
    await new Promise((r) => setTimeout(r, 100));
    controller.abort();
    await expect(aborted).rejects.toBeInstanceOf(AbortError);
    await worker(shared.url, name, 'A');
    expect(await pool.apply(tasks.logged, [log, 10])).toEqual({ worker: 'A', attempt: 1 });
    expect(lines(log).filter((l) => l.startsWith('started'))).toHaveLength(1);
  });
  it('a call of a batch (apply calls of one turn share a job) that is given up on before a worker takes the batch never runs; the others do', async () => {
    const name = 'batchcancel';
    await using pool = new RemotePool({ connection: shared.url, name });
    const log = logFile();
    const controller = new AbortController();
    const keep1 = pool.apply(tasks.logged, [log, 10]);
    const dropped = pool.apply(tasks.logged, [log, 10], { signal: controller.signal });
    const keep2 = pool.apply(tasks.logged, [log, 10]);
    const q = new Queue(name, { connection: { host: '127.0.0.1', port: shared.port }, prefix: 'threadkit' });
    // One job for the three calls.
    for (let i = 0; i < 400 && (await q.getWaitingCount()) === 0; i++) await new Promise((r) => setTimeout(r, 25));
    expect(await q.getWaitingCount()).toBe(1);
    await q.close();
    controller.abort();
    await expect(dropped).rejects.toBeInstanceOf(AbortError);
    await worker(shared.url, name, 'A');
    expect(await keep1).toEqual({ worker: 'A', attempt: 1 });
    expect(await keep2).toEqual({ worker: 'A', attempt: 1 });
    expect(lines(log).filter((l) => l.startsWith('started'))).toHaveLength(2);
  });
});

describe('Redis faults', () => {
  it('a pending call fails with TaskLostError when Redis restarts without its data; workers and pools carry on', async () => {
    const r = await redis();
    const name = 'restart';
    await using pool = new RemotePool({ connection: r.url, name, lostCheck: 200 });
    // No worker yet: the call's job waits in Redis.
    const call = settled(pool.apply(tasks.add, [1, 2]));
    await until('the job to reach Redis', () => pool.stats().submitted === 1);
    await new Promise((res) => setTimeout(res, 200));
    await r.kill();
    await r.start();
    const outcome = await call;
    expect(outcome.ok).toBe(false);
    expect((outcome as { error: unknown }).error).toBeInstanceOf(TaskLostError);
    await worker(r.url, name, 'A');
    expect(await pool.apply(tasks.add, [2, 3])).toBe(5);
  });

  it('a pending call survives a Redis restart with appendonly (its task runs once, after)', async () => {
    const r = await redis({ persistence: true });
    const name = 'persist';
    await using pool = new RemotePool({ connection: r.url, name, lostCheck: 200 });
    const log = logFile();
    const call = pool.apply(tasks.logged, [log, 10]);
    await until('the job to reach Redis', () => pool.stats().submitted === 1);
    await new Promise((res) => setTimeout(res, 300));
    await r.kill();
    await r.start();
    await worker(r.url, name, 'A');
    expect(await call).toEqual({ worker: 'A', attempt: 1 });
    expect(lines(log).filter((l) => l.startsWith('started'))).toHaveLength(1);
  });

  it('a running call settles exactly once when Redis is paused longer than a lease', async () => {
    const r = await redis();
    const name = 'sigstop';
    await Promise.all([worker(r.url, name, 'A'), worker(r.url, name, 'B')]);
    await using pool = new RemotePool({ connection: r.url, name });
    const log = logFile();
    let settles = 0;
    const call = pool.apply(tasks.logged, [log, 800]).finally(() => settles++);
    await until('the task to start', () => lines(log).find((l) => l.startsWith('started')));
    r.signal('SIGSTOP');
    await new Promise((res) => setTimeout(res, 2500));
    r.signal('SIGCONT');
    const result = await call;
    expect(result.worker).toMatch(/^[AB]$/);
    // A re-run (the lease ran out while Redis slept) may answer too: dropped, not delivered twice.
    await new Promise((res) => setTimeout(res, 1500));
    expect(settles).toBe(1);
    expect(await pool.apply(tasks.add, [1, 1])).toBe(2);
  });

  it('Redis unreachable at start: RedisConnectionError, not a hang', async () => {
    const port = await freePort();
    await using pool = new RemotePool({ connection: `redis://127.0.0.1:${port}`, name: 'nowhere', connectTimeout: 500 });
    const error = await pool.apply(tasks.add, [1, 2]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisConnectionError);
    expect((error as RedisConnectionError).reason).toBe('unreachable');
    expect((error as Error).message).toContain(`127.0.0.1:${port}`);
  });

  it('threadkit-worker: bad usage exits 2 with its usage; Redis unreachable exits 1 naming no password', async () => {
    const bin = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'bin.js');
    const run = (args: string[]): { status: number | null; stderr: string } => {
      const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 20_000 });
      return { status: r.status, stderr: r.stderr };
    };
    const usage = run(['--name', 'x']);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('--tasks is required');
    expect(run(['--name', 'x', '--tasks', 'oops']).stderr).toContain('--tasks takes MODULE=PATH');
    expect(run(['--name', 'x', '--tasks', 't=./t.js', '--kind', 'fiber']).stderr).toContain('--kind takes thread, process or inline');
    const port = await freePort();
    const fixture = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'tasks.ts');
    const down = run(['--name', 'x', '--tasks', `t=${fixture}`, '--connection', `redis://bob:pa55word@127.0.0.1:${port}`, '--connect-timeout', '300']);
    expect(down.status).toBe(1);
    expect(down.stderr).toContain('RedisConnectionError');
    expect(down.stderr).toContain(`redis://bob:***@127.0.0.1:${port}`);
    expect(down.stderr).not.toContain('pa55word');
  });

  it('a wrong password or ACL user gives RedisConnectionError naming no credential; the right one works', async () => {
    const r = await redis({ password: 'hunter2-secret', config: ['user alice on >alice-secret ~* &* +@all'] });
    const name = 'auth';
    await using bad = new RemotePool({ connection: `redis://:wrong-pass@127.0.0.1:${r.port}`, name, connectTimeout: 5000 });
    const error = await bad.apply(tasks.add, [1, 2]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisConnectionError);
    expect((error as RedisConnectionError).reason).toBe('auth');
    expect((error as Error).message).not.toContain('wrong-pass');
    await using badUser = new RemotePool({ connection: { host: '127.0.0.1', port: r.port, username: 'alice', password: 'nope-nope' }, name });
    const e2 = await badUser.apply(tasks.add, [1, 2]).catch((e: unknown) => e);
    expect((e2 as RedisConnectionError).reason).toBe('auth');
    expect((e2 as Error).message).not.toContain('nope-nope');
    expect(badUser.connection).toBe(`redis://alice:***@127.0.0.1:${r.port}`);
    // A worker with a wrong password exits with the named error and no credential.
    const failed = await startWorker({ url: `redis://alice:wrong-worker-pass@127.0.0.1:${r.port}`, name, label: 'X' }).catch((e: unknown) => e);
    expect(String(failed)).toContain('RedisConnectionError');
    expect(String(failed)).not.toContain('wrong-worker-pass');
    const url = `redis://alice:alice-secret@127.0.0.1:${r.port}`;
    await worker(url, name, 'A');
    await using good = new RemotePool({ connection: url, name });
    expect(await good.apply(tasks.add, [1, 2])).toBe(3);
  });
});

describe('who may run what', () => {
  it("fails a job that is not threadkit's with ForeignJobError and serves on", async () => {
    const name = 'foreign';
    await worker(shared.url, name, 'A');
    const q = new Queue(name, { connection: { host: '127.0.0.1', port: shared.port }, prefix: 'threadkit' });
    const job = await q.add('evil', { code: 'process.exit(1)' });
    let state = '';
    for (let i = 0; i < 400 && state !== 'failed'; i++) {
      state = await q.getJobState(job.id!);
      if (state !== 'failed') await new Promise((r) => setTimeout(r, 25));
    }
    expect(state).toBe('failed');
    const reason = (await q.getJob(job.id!))?.failedReason ?? '';
    expect(reason).toContain('not a threadkit call');
    await q.close();
    await using pool = new RemotePool({ connection: shared.url, name });
    expect(await pool.apply(tasks.add, [20, 22])).toBe(42);
  });

  it('talks TLS (rediss://) to a Redis that only serves TLS, worker and caller alike', async () => {
    // A CA of the test's own, and a certificate for 127.0.0.1 signed by it.
    const ssl = (args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=threadkit test CA', '-keyout', 'ca.key', '-out', 'ca.pem']);
    ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr']);
    writeFileSync(join(dir, 'san.cnf'), 'subjectAltName=IP:127.0.0.1\n');
    ssl([
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      'san.cnf',
      '-out',
      'server.pem',
    ]);
    const r = await redis({ tls: { cert: join(dir, 'server.pem'), key: join(dir, 'server.key'), ca: join(dir, 'ca.pem') } });
    expect(r.url.startsWith('rediss://')).toBe(true);
    const name = 'tls';
    // The worker trusts the CA as any Node program can: NODE_EXTRA_CA_CERTS.
    await worker(r.url, name, 'A', { env: { NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem') } });
    await using pool = new RemotePool({ connection: { url: r.url, tls: { ca: readFileSync(join(dir, 'ca.pem')) } }, name });
    expect(await pool.apply(tasks.add, [40, 2])).toBe(42);
    // Without trusting the CA: a named error, not a hang.
    await using untrusting = new RemotePool({ connection: r.url, name, connectTimeout: 1000 });
    const error = await untrusting.apply(tasks.add, [1, 1]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisConnectionError);
    expect((error as Error).message).toMatch(/certificate/i);
  });
});
