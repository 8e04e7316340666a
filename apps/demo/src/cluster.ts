/**
 * The cluster example: the seed's playlist (E4) and queue.py (E8) on worker processes that stand
 * for other machines, through Redis, with `@threadkit/redis`.
 *
 *   node dist/cluster.js [--scale <ms per seed second>]        (pnpm start:cluster)
 *   tsx src/cluster.ts   [the same options]
 *
 * What it does, in order:
 * 1. starts a `redis-server` of its own (127.0.0.1, a free port, no persistence), unless REDIS_URL
 *    names one;
 * 2. starts two `threadkit-worker` processes, machine-a and machine-b, each from a temporary folder
 *    of its own holding its own copy of the task module (cluster-tasks.js and tasks.js);
 * 3. plays E4's playlist on them through a `RemotePool` and draws the timeline, each bar naming
 *    the host and pid that played it (from `taskContext()`, which the task returns);
 * 4. kills the worker playing 歌曲3 with SIGKILL in the middle of it: its lease runs out, and
 *    its tracks play again on the other worker as attempt 2, which the timeline shows;
 * 5. starts that machine's worker again and runs E8 across both: 10 producers and 10 consumers,
 *    remote tasks sharing a `RemoteQueue` (maxsize 3) and a `RemoteLock`; every item got once.
 *
 * Every process it starts (redis-server, the workers) is stopped by its pid at the end, on Ctrl-C
 * and on an error, and the temporary folders are removed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { displayWidth, renderTimeline, type PlaylistReport, type TimelineEntry } from '@threadkit/node';
import { RemotePool, RemoteQueue, remoteTasks } from '@threadkit/redis';
import type { PlayReport, QueueStep } from './cluster-tasks.ts';
import { ctime, now } from './tasks.ts';

// The task module, as the workers know it: `--tasks cluster=./cluster-tasks.js` on each machine.
const tasks = remoteTasks<typeof import('./cluster-tasks.ts')>('cluster');

// Like main.ts: from dist/ the machines get the compiled .js files, from src/ (tsx) the .ts ones.
const here = dirname(fileURLToPath(import.meta.url));
const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const TASK_FILES = [`cluster-tasks${ext}`, `tasks${ext}`];

// ── Command line ───────────────────────────────────────────────────────────────────────────

/** A seed second: 250 ms, so a track (3–4 s, played twice) lasts long enough to be killed in the middle. */
const DEFAULT_SCALE = 250;
/** The workers' lease, ms: a killed worker's jobs move to another worker within 1.5 leases. */
const LEASE = 1500;
/** Jobs a worker holds at once (--concurrency): E8 runs its 20 tasks at once, 10 on each machine. */
const SLOTS = 10;
/**
 * Threads of a worker's local Pool (--size): more than SLOTS, so the pool never reaches its size
 * and a job always gets a thread of its own. A pool at its size tops up busy threads' windows,
 * and a job queued behind a blocked put or get would wait for it.
 */
const THREADS = 16;
const MACHINES = ['machine-a', 'machine-b'] as const;
type Machine = (typeof MACHINES)[number];

const USAGE = `Usage: node dist/cluster.js [options]   (pnpm start:cluster)
  --scale <ms>   milliseconds per seed second (default ${DEFAULT_SCALE})
  --help         show this help
Starts redis-server on a free port unless REDIS_URL names a Redis to use.`;

function parseCli(): { scale: number } {
  let values: { scale?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: { scale: { type: 'string', default: String(DEFAULT_SCALE) }, help: { type: 'boolean', default: false } },
      args: process.argv.slice(2).filter((a) => a !== '--'),
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const scale = Number(values.scale);
  if (!Number.isFinite(scale) || scale <= 0) {
    console.error(`--scale must be a positive number of milliseconds, got ${values.scale}\n\n${USAGE}`);
    process.exit(2);
  }
  return { scale };
}

// ── Presentation ───────────────────────────────────────────────────────────────────────────

function header(id: string, seed: string, shows: string): void {
  const title = `${id} · ${seed} `;
  console.log(`\n━━ ${title}${'━'.repeat(Math.max(3, 86 - displayWidth(title)))}`);
  console.log(`   ${shows}\n`);
}

/** A line a machine printed (its tasks' console.log, its worker's log), under its name. */
function fromMachine(machine: string, line: string): void {
  console.log(`   ${machine} │ ${line}`);
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Promise.all, with every promise's failure handled: the first one is thrown, none is left unhandled. */
function settleAll<T>(promises: readonly Promise<T>[]): Promise<T[]> {
  for (const p of promises) p.catch(() => {});
  return Promise.all(promises);
}

// ── The processes this program starts, stopped by pid ──────────────────────────────────────

/** Every child still running, and every folder still there: stopped and removed at the end, on Ctrl-C and on an error. */
const children = new Set<ChildProcess>();
const folders = new Set<string>();

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Sends `signal` to the child's pid, then SIGKILL if it is still there after `graceMs`. */
async function stop(child: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  const pid = child.pid;
  if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }, graceMs);
  await exited(child);
  clearTimeout(timer);
}

// The last resort, when the program exits any other way: SIGKILL by pid, folders removed.
process.once('exit', () => {
  for (const c of children) if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) process.kill(c.pid, 'SIGKILL');
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

// ── Redis ──────────────────────────────────────────────────────────────────────────────────

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Whether a Redis answers PING on the port. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = new Socket();
    let data = '';
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.once('error', () => done(false));
    sock.connect(port, '127.0.0.1', () => sock.write('PING\r\n'));
    sock.on('data', (chunk) => {
      data += chunk.toString();
      if (data.includes('PONG')) done(true);
      else if (data.includes('-')) done(false);
    });
  });
}

interface RedisServer {
  readonly url: string;
  /** Undefined when REDIS_URL named a Redis this program did not start. */
  readonly child: ChildProcess | undefined;
}

/** Starts redis-server on 127.0.0.1 and a free port, without persistence; resolves once it answers PING. */
async function startRedis(): Promise<RedisServer> {
  const given = process.env.REDIS_URL;
  if (given) return { url: given, child: undefined };
  const bin = existsSync('/usr/bin/redis-server') ? '/usr/bin/redis-server' : 'redis-server';
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'threadkit-demo-redis-'));
  folders.add(dir);
  const child = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.add(child);
  let err = '';
  child.stderr!.on('data', (d) => (err += String(d)));
  child.once('exit', () => children.delete(child));
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (e) => reject(new Error(`Cannot start ${bin}: ${e.message} (install Redis, e.g. apt-get install redis-server, or set REDIS_URL)`)));
    child.once('exit', (code, signal) => reject(new Error(`${bin} exited (${code ?? signal}) before it answered:\n${err}`)));
  });
  failed.catch(() => {});
  const end = Date.now() + 20_000;
  while (!(await Promise.race([ping(port), failed]))) {
    if (Date.now() > end) throw new Error(`${bin} did not answer PING on port ${port} within 20 s`);
    await delay(25);
  }
  return { url: `redis://127.0.0.1:${port}`, child };
}

// ── The "other machines" ───────────────────────────────────────────────────────────────────

/** `@threadkit/redis`'s folder, and its `threadkit-worker` command inside it. */
const redisPkg = dirname(realpathSync(createRequire(import.meta.url).resolve('@threadkit/redis/package.json')));
const workerBin = (JSON.parse(readFileSync(join(redisPkg, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin['threadkit-worker']!;

/**
 * Makes an "other machine": a temporary folder with its own copy of the task module and
 * `@threadkit/redis` in its node_modules (a link to this workspace's, as an install would put it).
 */
function machineFolder(machine: Machine): string {
  const dir = mkdtempSync(join(tmpdir(), `threadkit-demo-${machine}-`));
  folders.add(dir);
  for (const file of TASK_FILES) copyFileSync(join(here, file), join(dir, file));
  writeFileSync(join(dir, 'package.json'), '{ "type": "module", "private": true }\n');
  mkdirSync(join(dir, 'node_modules', '@threadkit'), { recursive: true });
  symlinkSync(redisPkg, join(dir, 'node_modules', '@threadkit', 'redis'), 'dir');
  return dir;
}

interface Worker {
  readonly machine: Machine;
  readonly dir: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Set when this program killed it on purpose. */
  killed: boolean;
}

/** Starts `threadkit-worker` in the machine's folder; resolves once it prints `ready`. Its output shows under the machine's name. */
async function startWorker(machine: Machine, dir: string, url: string, queue: string): Promise<Worker> {
  const args = [
    join(dir, 'node_modules', '@threadkit', 'redis', workerBin),
    '--connection',
    url,
    '--name',
    queue,
    '--tasks',
    `cluster=./${TASK_FILES[0]}`,
    '--size',
    String(THREADS),
    '--concurrency',
    String(SLOTS),
    '--lease',
    String(LEASE),
  ];
  // REDIS_URL: where E8's tasks find their RemoteQueue and RemoteLock.
  const child = spawn(process.execPath, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, REDIS_URL: url } });
  children.add(child);
  const worker: Worker = { machine, dir, child, pid: child.pid ?? 0, killed: false };
  let ready = false;
  let log = '';
  const readyLine = new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!ready && line.startsWith('ready ')) {
        ready = true;
        resolve();
      } else fromMachine(machine, line);
    });
    createInterface({ input: child.stderr! }).on('line', (line) => {
      log += `${line}\n`;
      fromMachine(machine, line);
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      children.delete(child);
      if (!ready) reject(new Error(`${machine}'s worker exited (${code ?? signal}) before it was ready:\n${log}`));
      else if (!worker.killed && code !== 0) console.log(`   ${machine}'s worker (pid ${worker.pid}) exited by itself (${code ?? signal})`);
    });
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${machine}'s worker did not say ready within 60 s`)), 60_000);
  });
  try {
    await Promise.race([readyLine, timeout]);
  } finally {
    clearTimeout(timer);
  }
  return worker;
}

// ── Warming up ─────────────────────────────────────────────────────────────────────────────

/**
 * Brings up every task slot of the workers: SLOTS tasks per worker at once, each holding its
 * thread a moment. A worker holds at most SLOTS jobs (--concurrency), so they spread over both,
 * and its local Pool starts a thread for each (loading the task module and @threadkit/redis).
 */
async function warmUp(pool: RemotePool, workers: readonly Worker[]): Promise<void> {
  const t0 = performance.now();
  const up = await settleAll(Array.from({ length: SLOTS * workers.length }, () => pool.apply(tasks.warmUp, [300], { timeout: 120_000 })));
  const threads = workers.map((w) => `${new Set(up.filter((u) => u.pid === w.pid).map((u) => u.thread)).size} on ${w.machine}`);
  console.log(`   threads up: ${threads.join(', ')} (${((performance.now() - t0) / 1000).toFixed(1)} s to start them and load ${TASK_FILES[0]} in each)`);
}

// ── E4: the playlist on two machines, one of them killed ───────────────────────────────────

/** The seed's playlist: file → seconds per play. */
const lists = { 歌曲1: 3, 视频2: 3, 歌曲3: 4 };
/** The track whose machine is killed, this many seed seconds into it. */
const VICTIM = '歌曲3';
const KILL_AFTER = 2;

/** One attempt at a track, as its progress and its answer told it. */
interface Attempt {
  readonly file: string;
  readonly attempt: number;
  readonly host: string;
  readonly pid: number;
  readonly start: number;
  end?: number;
  killedAt?: number;
}

async function e4(pool: RemotePool, workers: Worker[], scale: number, restart: (w: Worker) => Promise<Worker>): Promise<Worker[]> {
  header(
    'E4',
    'super_player(file_, time) over the playlist, on two machines',
    `Each track a remote task on whichever worker takes it; ${VICTIM}'s machine is killed (SIGKILL) in the middle of it, and its tracks play again elsewhere.`,
  );
  const machineOf = (pid: number) => workers.find((w) => w.pid === pid)?.machine ?? `pid ${pid}`;
  const label = (a: { host: string; pid: number }) => `${machineOf(a.pid)} ${a.host}:${a.pid}`;

  const t0 = now();
  const attempts: Attempt[] = [];
  let wake: () => void = () => {};
  const onProgress = (p: unknown) => {
    const r = p as PlayReport;
    if (!attempts.some((a) => a.file === r.file && a.attempt === r.attempt && a.pid === r.pid)) {
      attempts.push({ file: r.file, attempt: r.attempt, host: r.host, pid: r.pid, start: r.start });
    }
    wake();
  };
  const until = async (what: string, ok: () => boolean) => {
    const end = Date.now() + 60_000;
    while (!ok()) {
      if (Date.now() > end) throw new Error(`E4: ${what} within 60 s`);
      await Promise.race([new Promise<void>((resolve) => (wake = resolve)), delay(100)]);
    }
  };
  const calls = Object.entries(lists).map(([file, time]) =>
    pool.apply(tasks.superPlayer, [file, time, scale], { onProgress, timeout: 120_000 }).then((r) => {
      const a = attempts.find((x) => x.file === r.file && x.attempt === r.attempt && x.pid === r.pid);
      if (a) a.end = r.end;
      else attempts.push({ file: r.file, attempt: r.attempt, host: r.host, pid: r.pid, start: r.start, end: r.end });
      wake();
      return r;
    }),
  );

  // The handshake: VICTIM is playing (it said so), then its machine dies, KILL_AFTER seed seconds into it.
  await until(`${VICTIM} did not start`, () => attempts.some((a) => a.file === VICTIM));
  const target = attempts.find((a) => a.file === VICTIM)!;
  await delay(Math.max(0, target.start + KILL_AFTER * scale - now()));
  if (target.end !== undefined) {
    throw new Error(`E4: ${VICTIM} ended before its machine could be killed (this machine is very busy); try a larger --scale`);
  }
  const victim = workers.find((w) => w.pid === target.pid)!;
  victim.killed = true;
  process.kill(victim.pid, 'SIGKILL');
  const killedAt = now();
  const lostTracks = attempts.filter((a) => a.pid === victim.pid && a.end === undefined);
  for (const a of lostTracks) a.killedAt = killedAt;
  console.log(
    `\n   killed: ${victim.machine} (pid ${victim.pid}) with SIGKILL, ${((killedAt - target.start) / scale).toFixed(1)} s into ${VICTIM}; it was playing ${lostTracks.map((a) => a.file).join(', ')}.`,
  );
  console.log(`   Its jobs' lease (${LEASE} ms) runs out unrenewed, and the other worker takes them: attempt 2.\n`);

  const results = await settleAll(calls);
  const elapsed = now() - t0;
  await exited(victim.child);

  // The timeline: a bar per attempt, killed ones drawn × up to the kill.
  const order = Object.keys(lists);
  attempts.sort((a, b) => order.indexOf(a.file) - order.indexOf(b.file) || a.attempt - b.attempt);
  const rows: TimelineEntry[] = attempts.map((a) => ({
    title: a.attempt === 1 ? a.file : `${a.file} (attempt ${a.attempt})`,
    worker: label(a),
    start: a.start - t0,
    end: (a.end ?? a.killedAt ?? now()) - t0,
    ...(a.end === undefined ? { error: new Error(`${machineOf(a.pid)} killed at ${((killedAt - t0) / scale).toFixed(2)} s`) } : {}),
  }));
  const report: PlaylistReport = { mode: 'processes', elapsed, timeline: rows };
  console.log();
  console.log(renderTimeline(report, { unitMs: scale, unit: 's', width: 50 }).replace(/^/gm, '   '));

  console.log('\n   Each attempt, as taskContext() told the task (host, pid, attempt):\n');
  const fileW = Math.max(...order.map(displayWidth));
  for (const a of attempts) {
    const first = attempts.find((x) => x.file === a.file && x.attempt === 1);
    const verdict =
      a.end === undefined
        ? '✗ killed mid-play'
        : a.attempt > 1
          ? `✓ played again${first && first.pid !== a.pid ? `, on another machine than attempt 1 (${machineOf(first.pid)})` : ''}`
          : '✓ played';
    console.log(
      `   ${a.file}${' '.repeat(fileW - displayWidth(a.file))}  attempt ${a.attempt}  ${machineOf(a.pid)} (pid ${a.pid}, host ${a.host})  ${verdict}`,
    );
  }
  const s = pool.stats();
  console.log(
    `\n   E4: ${results.length} tracks played to the end, in ${(elapsed / scale).toFixed(2)} s (the longest entry is ${2 * Math.max(...Object.values(lists))} s; the kill and the lease added the rest); answers dropped as duplicates: ${s.duplicates}, calls lost: ${s.lost}`,
  );

  // The machine comes back: a new worker in its folder, with a new pid.
  const back = await restart(victim);
  console.log(`   ${back.machine} is back: a new threadkit-worker, pid ${back.pid}`);
  return workers.map((w) => (w === victim ? back : w));
}

// ── E8: queue.py across machines ───────────────────────────────────────────────────────────

async function e8(pool: RemotePool, workers: Worker[], queue: string, url: string): Promise<void> {
  header(
    'E8',
    'queue.py: Queue(3), 10 producers, 10 consumers, a Lock, on two machines',
    'The producers and consumers are remote tasks on both workers, sharing a RemoteQueue (maxsize 3) and a RemoteLock in Redis.',
  );
  const machineOf = (pid: number) => workers.find((w) => w.pid === pid)?.machine ?? `pid ${pid}`;
  const queueName = `${queue}-e8`;
  const lockName = `${queue}-e8-lock`;
  // This program's handle on the queue: it samples how many items it holds, and closes it as the seed does.
  const q = new RemoteQueue<string>(queueName, { connection: url, maxsize: 3 });
  const t0 = now();
  const sizes: number[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      sizes.push(await q.qsize());
      await delay(10);
    }
  })();
  try {
    const producers = Array.from({ length: 10 }, (_, i) => pool.apply(tasks.inputQ, [queueName, i + 1], { timeout: 120_000 }));
    const consumers = Array.from({ length: 10 }, (_, i) => pool.apply(tasks.outputQ, [queueName, lockName, i + 1], { timeout: 120_000 }));
    // Failures handled from the start: a producer's failure must not leave the consumers' unhandled.
    void settleAll([...producers, ...consumers]).catch(() => {});
    const puts = await Promise.all(producers);
    await q.close();
    const gets = await Promise.all(consumers);
    sampling = false;
    await sampler;

    const where = (steps: readonly QueueStep[]) => {
      const count = new Map<string, number>();
      for (const s of steps) count.set(`${machineOf(s.pid)} (pid ${s.pid})`, (count.get(`${machineOf(s.pid)} (pid ${s.pid})`) ?? 0) + 1);
      return [...count].map(([m, n]) => `${n} on ${m}`).join(', ');
    };
    console.log(`\n   producers (inputQ):  ${where(puts)}`);
    console.log(`   consumers (outputQ): ${where(gets)}`);

    const rows: TimelineEntry[] = [...puts, ...gets].map((s, i) => ({
      title: `${i < puts.length ? 'inputQ' : 'outputQ'} #${s.n}`,
      worker: `${machineOf(s.pid)} ${s.host}:${s.pid}`,
      start: s.start - t0,
      end: s.done - t0,
    }));
    console.log("\n   E8 timeline: a bar from the task's beginning to its put or get going through (waiting included):\n");
    const report: PlaylistReport = { mode: 'processes', elapsed: now() - t0, timeline: rows };
    console.log(renderTimeline(report, { unitMs: 1000, unit: 's', width: 50 }).replace(/^/gm, '   '));
    console.log(`\n   The queue held at most ${Math.max(0, ...sizes)} items (maxsize 3), in ${sizes.length} samples this program took.`);

    const put = puts.map((s) => s.info);
    const got = gets.map((s) => s.info);
    const once = put.every((info) => got.filter((g) => g === info).length === 1);
    const ok = put.length === 10 && got.length === 10 && new Set(got).size === 10 && once;
    console.log(`   check: ${put.length} items put, ${got.length} got, ${ok ? 'each exactly once' : 'NOT each exactly once'}`);
    if (!ok) throw new Error(`E8: the items got do not match the items put:\nput: ${put.join(', ')}\ngot: ${got.join(', ')}`);
  } finally {
    sampling = false;
    await sampler.catch(() => {});
    await q.disconnect();
  }
}

// ── Run it ─────────────────────────────────────────────────────────────────────────────────

async function main(): Promise<void> {
  const { scale } = parseCli();
  const started = performance.now();
  console.log(`threadkit cluster demo: the seed's E4 and E8 on two worker processes through Redis. 1 seed second = ${scale} ms.`);

  const redis = await startRedis();
  console.log(
    redis.child ? `redis-server: pid ${redis.child.pid}, ${redis.url} (no persistence)` : `Redis: ${redis.url.replace(/\/\/[^@/]*@/, '//***@')} (REDIS_URL)`,
  );

  // The queue's name: the workers serve it, the RemotePool calls it. Unique, so a shared Redis is fine.
  const queue = `threadkit-demo-${Math.random().toString(36).slice(2, 8)}`;
  let workers = await Promise.all(MACHINES.map((m) => startWorker(m, machineFolder(m), redis.url, queue)));
  for (const w of workers) console.log(`${w.machine}: threadkit-worker pid ${w.pid}, in ${w.dir} (its own copy of ${TASK_FILES.join(' and ')})`);

  const pool = new RemotePool({ connection: redis.url, name: queue });
  try {
    // The first call connects the pool, which then lists the workers it sees.
    await pool.apply(tasks.hello, [], { timeout: 60_000 });
    for (const h of pool.stats().hosts) {
      const w = workers.find((x) => x.pid === h.pid);
      console.log(`RemotePool "${queue}" sees ${w?.machine ?? 'a worker'}: ${h.host}:${h.pid}, ${h.size} ${h.kind}s`);
    }
    await warmUp(pool, workers);
    console.log(`started ${ctime()}`);

    workers = await e4(pool, workers, scale, (w) => startWorker(w.machine, w.dir, redis.url, queue));
    await warmUp(pool, workers);
    await e8(pool, workers, queue, redis.url);
  } finally {
    await pool.terminate();
    // SIGTERM drains a worker (its running tasks finish); SIGKILL after 10 s.
    await Promise.all(workers.map((w) => stop(w.child, 'SIGTERM', 10_000)));
    if (redis.child) await stop(redis.child, 'SIGTERM', 5_000);
    for (const dir of folders) rmSync(dir, { recursive: true, force: true });
    folders.clear();
    const stopped = [...workers.map((w) => `${w.machine} (pid ${w.pid})`), ...(redis.child ? [`redis-server (pid ${redis.child.pid})`] : [])];
    console.log(`\nstopped ${stopped.join(', ')}; removed their folders.`);
  }
  console.log(`Done in ${((performance.now() - started) / 1000).toFixed(1)} s (real seconds).`);
}

// Ctrl-C (or a SIGTERM): every child stopped by its pid, then out.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.log(`\n${signal}: stopping the workers and redis-server`);
    void Promise.all([...children].map((c) => stop(c, 'SIGKILL', 0))).finally(() => process.exit(130));
  });
}

try {
  await main();
} catch (error) {
  console.error(`\ncluster demo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  await Promise.all([...children].map((c) => stop(c, 'SIGKILL', 0)));
  process.exitCode = 1;
}
