// The remote scenario's Redis and worker processes. One redis-server for the whole run (started
// on first use on 127.0.0.1, a free port, no persistence; stopped by its pid when the harness
// exits), or the server REDIS_URL names. Worker processes are started per run and killed by
// their pid at its end (and at exit, whatever is left).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
/** The `threadkit-worker` command of @threadkit/redis (its `bin`). */
export const THREADKIT_WORKER = join(dirname(require.resolve('@threadkit/redis/package.json')), 'dist', 'bin.js');
/** The task module the threadkit workers serve, as `bench`. */
export const REMOTE_TASKS = fileURLToPath(new URL('../workers/remote-tasks.mjs', import.meta.url));
/** The plain BullMQ worker process. */
export const BULLMQ_WORKER = fileURLToPath(new URL('../workers/bullmq-worker.mjs', import.meta.url));

const children = new Set();
let server;
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  if (server?.child) {
    server.child.kill('SIGTERM');
    rmSync(server.dir, { recursive: true, force: true });
  }
});

/** For a subject's `available()`: true with REDIS_URL or a redis-server on the PATH, else the reason. */
export function redisAvailable() {
  if (process.env.REDIS_URL) return true;
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 ? true : 'no redis-server (or REDIS_URL)';
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function ping(port) {
  return new Promise((resolve) => {
    const sock = new Socket();
    let data = '';
    sock.setTimeout(500, () => {
      sock.destroy();
      resolve(false);
    });
    sock.once('error', () => resolve(false));
    sock.connect(port, '127.0.0.1', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      data += d;
      if (data.includes('\r\n')) {
        sock.destroy();
        resolve(data.startsWith('+PONG'));
      }
    });
  });
}

async function startRedis() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'threadkit-bench-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'inherit'] });
  server = { child, dir };
  const end = Date.now() + 10_000;
  while (!(await ping(port))) {
    if (child.exitCode !== null || Date.now() > end) throw new Error(`redis-server did not answer PING on port ${port}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return `redis://127.0.0.1:${port}`;
}

let url;
/** The Redis every remote subject uses: REDIS_URL, or the bench's own redis-server (started once). */
export function redisUrl() {
  if (process.env.REDIS_URL) return Promise.resolve(process.env.REDIS_URL);
  url ??= startRedis();
  return url;
}

let queues = 0;
/** A queue name of its own for each run, so that no run sees another's jobs. */
export const queueName = (what) => `bench-${what}-${process.pid}-${++queues}`;

/**
 * Starts `node script ...args` and resolves once it writes a line starting with "ready" on its
 * stdout. `ipc` gives it a message channel (`child.send`, `child.on('message')`).
 */
export async function startProcess(script, args, { ipc = false } = {}) {
  const child = spawn(process.execPath, [script, ...args.map(String)], {
    stdio: ['ignore', 'pipe', 'pipe', ...(ipc ? ['ipc'] : [])],
  });
  children.add(child);
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('ready')) resolve();
    });
    exited.then(({ code, signal }) => reject(new Error(`${script} exited (${code ?? signal}) before it was ready: ${err.trim().slice(-300)}`)));
  });
  return {
    child,
    pid: child.pid,
    exited,
    /** Kills it (SIGKILL, by its pid) and waits until it has gone. */
    async kill() {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
      await exited;
    },
  };
}

/** A `threadkit-worker` process serving `bench=src/workers/remote-tasks.mjs` in a local pool of `size` threads (or `kind: 'inline'`: on its own thread). */
export function threadkitWorker(url, name, { size = 1, concurrency = 50, lease, kind = 'thread' } = {}) {
  const args = [
    '--connection',
    url,
    '--name',
    name,
    '--tasks',
    `bench=${REMOTE_TASKS}`,
    ...(kind === 'inline' ? [] : ['--size', size]),
    '--kind',
    kind,
    '--concurrency',
    concurrency,
  ];
  if (lease) args.push('--lease', lease);
  return startProcess(THREADKIT_WORKER, [...args, '--quiet']);
}

/** A plain BullMQ worker process (src/workers/bullmq-worker.mjs); `sandboxed`: its processor in worker threads (BullMQ's `useWorkerThreads`). */
export function bullmqWorker(url, name, { concurrency = 50, lockDuration = 30_000, stalledInterval = 30_000, sandboxed = false } = {}) {
  return startProcess(BULLMQ_WORKER, [url, name, concurrency, lockDuration, stalledInterval, sandboxed ? 'sandboxed' : 'inline'], { ipc: true });
}

/** Stops every process of a run. */
export const killAll = (procs) => Promise.all(procs.map((p) => p.kill()));

/** The p-th percentile (0–100) of `xs`. */
export function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** The roundtrip case: `call()` n times in a row after `warmup`; → the median ms (p90 and p99 as details). */
export async function roundTrips(call, { n, warmup }) {
  for (let i = 0; i < warmup; i++) await call();
  const ms = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await call();
    ms.push(performance.now() - t0);
  }
  return { value: percentile(ms, 50), p90: percentile(ms, 90), p99: percentile(ms, 99) };
}

const startsIn = (file) => {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
};

async function waitForStarts(file, k, ms) {
  for (const end = Date.now() + ms; ; ) {
    const l = startsIn(file);
    if (l.length >= k) return l;
    if (Date.now() > end) throw new Error(`${k} start(s) of the marker task not seen in ${ms} ms (${l.length} seen)`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/**
 * The failover case: `start(file)` submits the marker task (it writes "started <pid> <Date.now()>"
 * to `file` when it starts, and answers its pid). Once it has started, the process running it is
 * killed (SIGKILL); the figure is the second start's time minus the kill's, in ms.
 */
export async function failover(procs, start) {
  const dir = mkdtempSync(join(tmpdir(), 'threadkit-bench-failover-'));
  try {
    const file = join(dir, 'starts');
    const answer = start(file);
    const [first] = await waitForStarts(file, 1, 10_000);
    const pid = Number(first.split(' ')[1]);
    const victim = procs.find((p) => p.pid === pid);
    if (!victim) throw new Error(`the task started in pid ${pid}, not a worker of this run`);
    const killedAt = Date.now();
    await victim.kill();
    const [, second] = await waitForStarts(file, 2, 30_000);
    const [, pid2, at] = second.split(' ');
    const answeredBy = await answer;
    if (Number(pid2) === pid || answeredBy !== Number(pid2)) throw new Error(`killed ${pid}; the task ran again in ${pid2} and answered from ${answeredBy}`);
    return { value: Number(at) - killedAt, firstStartToKill: killedAt - Number(first.split(' ')[2]) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
