/**
 * The cluster example end to end, as `pnpm start:cluster` runs it: `node dist/cluster.js` (built
 * by the global setup) starts a real redis-server and two threadkit-worker processes, plays E4,
 * kills a worker, runs E8 across both, and stops everything. The checks read what it prints, never
 * its timing: every track played to the end; the killed worker's tracks played again on the other
 * worker as attempt 2; E8's 10 items were each got exactly once; and afterwards no process it
 * started is alive and its folders are gone. Then the same with a SIGINT (Ctrl-C) in the middle.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const demo = fileURLToPath(new URL('..', import.meta.url));

interface Run {
  readonly child: ChildProcess;
  out(): string;
  /** Resolves with the exit code (or signal) once it has gone. */
  readonly exit: Promise<number | string>;
}

function run(args: readonly string[] = []): Run {
  const env = { ...process.env };
  // A redis-server of its own, never one the environment names.
  delete env.REDIS_URL;
  const child = spawn(process.execPath, ['dist/cluster.js', ...args], { cwd: demo, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += String(d)));
  child.stderr!.on('data', (d) => (out += String(d)));
  const exit = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return { child, out: () => out, exit };
}

async function waitFor(r: Run, pattern: RegExp, ms: number): Promise<RegExpMatchArray> {
  const end = Date.now() + ms;
  for (;;) {
    const m = r.out().match(pattern);
    if (m) return m;
    if (Date.now() > end || r.child.exitCode !== null) throw new Error(`no ${pattern} in the output:\n${r.out()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The processes and folders the program says it started. */
function started(out: string) {
  const redisPid = Number(out.match(/^redis-server: pid (\d+), redis:\/\/127\.0\.0\.1:\d+/m)?.[1]);
  const workers = [...out.matchAll(/^(machine-[ab]): threadkit-worker pid (\d+), in (\S+) /gm)].map((m) => ({ machine: m[1]!, pid: Number(m[2]), dir: m[3]! }));
  return { redisPid, workers };
}

describe('pnpm start:cluster', () => {
  it('plays E4 on two workers, replays the killed one’s tracks on the other as attempt 2, runs E8 across both, and stops everything', async () => {
    const r = run();
    const code = await r.exit;
    const out = r.out();
    expect(code, out).toBe(0);

    const { redisPid, workers } = started(out);
    expect(redisPid).toBeGreaterThan(0);
    expect(workers.map((w) => w.machine)).toEqual(['machine-a', 'machine-b']);
    expect(new Set(workers.map((w) => w.pid)).size).toBe(2);
    // Both in folders of their own, each with its own copy of the task module.
    expect(workers[0]!.dir).not.toBe(workers[1]!.dir);
    expect(out).toMatch(/RemotePool "threadkit-demo-\w+" sees machine-a: \S+:\d+, \d+ threads/);
    expect(out).toMatch(/RemotePool "threadkit-demo-\w+" sees machine-b: \S+:\d+, \d+ threads/);
    expect(out).toMatch(/^ {3}threads up: \d+ on machine-a, \d+ on machine-b /m);

    // E4: the kill.
    const killed = out.match(/^ {3}killed: (machine-[ab]) \(pid (\d+)\) with SIGKILL, [\d.]+ s into 歌曲3; it was playing (.+)\.$/m);
    expect(killed, out).not.toBeNull();
    const [, killedMachine, killedPidText] = killed!;
    const killedPid = Number(killedPidText);
    expect(workers.find((w) => w.machine === killedMachine)?.pid).toBe(killedPid);
    const other = workers.find((w) => w.machine !== killedMachine)!;

    // E4: each attempt, as the tasks' taskContext() told them.
    const attempts = [...out.matchAll(/^ {3}(\S+)\s+attempt (\d+) {2}(machine-[ab]) \(pid (\d+), host [^)]+\) {2}(✓|✗)/gm)].map((m) => ({
      file: m[1]!,
      attempt: Number(m[2]),
      machine: m[3]!,
      pid: Number(m[4]),
      ok: m[5] === '✓',
    }));
    // Every track of the playlist played to the end, once.
    for (const file of ['歌曲1', '视频2', '歌曲3'])
      expect(
        attempts.filter((a) => a.file === file && a.ok),
        `${file}\n${out}`,
      ).toHaveLength(1);
    // 歌曲3 was killed on the killed worker, mid-play, and played again on the other worker as attempt 2.
    expect(attempts).toContainEqual({ file: '歌曲3', attempt: 1, machine: killedMachine, pid: killedPid, ok: false });
    expect(attempts).toContainEqual({ file: '歌曲3', attempt: 2, machine: other.machine, pid: other.pid, ok: true });
    // Every killed attempt was on the killed worker, and its track's next attempt on the other.
    for (const a of attempts.filter((x) => !x.ok)) {
      expect(a.pid).toBe(killedPid);
      expect(attempts).toContainEqual({ file: a.file, attempt: a.attempt + 1, machine: other.machine, pid: other.pid, ok: true });
    }
    // The other worker printed the replay, and the timeline has the killed bar and the replayed one, host and pid in the worker column.
    expect(out).toMatch(new RegExp(`^ {3}${other.machine} │ Start playing: 歌曲3 .+ \\(attempt 2\\)$`, 'm'));
    expect(out).toMatch(new RegExp(`^ {3}歌曲3 +${killedMachine} \\S+:${killedPid} │ *×+ *│ {2}failed: ${killedMachine} killed at`, 'm'));
    expect(out).toMatch(new RegExp(`^ {3}歌曲3 \\(attempt 2\\) +${other.machine} \\S+:${other.pid} │ *█+ *│`, 'm'));
    expect(out).toMatch(/E4: 3 tracks played to the end, .+ calls lost: 0$/m);

    // The killed machine came back with a new worker.
    const back = out.match(new RegExp(`^ {3}${killedMachine} is back: a new threadkit-worker, pid (\\d+)$`, 'm'));
    expect(back, out).not.toBeNull();
    const backPid = Number(back![1]);
    expect([killedPid, other.pid]).not.toContain(backPid);

    // E8: the seed's lines, each whole, from the workers: "<consumer pid>#<n>(get):<producer pid>#<n>(put):<time>".
    const e8 = out.slice(out.indexOf('━━ E8'));
    const lines = [...e8.matchAll(/^ {3}(machine-[ab]) │ (\d+)#(\d+)\(get\):(\d+)#(\d+)\(put\):\d+(\.\d+)?$/gm)];
    expect(lines, e8).toHaveLength(10);
    const e8Pids = [other.pid, backPid];
    for (const m of lines) {
      expect(e8Pids).toContain(Number(m[2]));
      expect(e8Pids).toContain(Number(m[4]));
    }
    // Each consumer got one item, and each producer's item was got exactly once.
    expect(lines.map((m) => Number(m[3])).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(lines.map((m) => Number(m[5])).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(e8).toMatch(/^ {3}check: 10 items put, 10 got, each exactly once$/m);
    const most = Number(e8.match(/The queue held at most (\d+) items \(maxsize 3\)/)?.[1]);
    expect(most).toBeLessThanOrEqual(3);

    // Everything it started is gone, and so are the machines' folders.
    expect(out).toMatch(/^stopped machine-a \(pid \d+\), machine-b \(pid \d+\), redis-server \(pid \d+\); removed their folders\.$/m);
    for (const pid of [redisPid, ...workers.map((w) => w.pid), backPid]) expect(alive(pid), `pid ${pid}`).toBe(false);
    for (const w of workers) expect(existsSync(w.dir), w.dir).toBe(false);
  }, 150_000);

  it('stops redis-server and the workers by their pids on SIGINT (Ctrl-C)', async () => {
    const r = run();
    // The handshake: both workers are up and the RemotePool sees them (the warm-up is under way).
    await waitFor(r, /sees machine-[ab].*\n.*sees machine-[ab]/, 90_000);
    const { redisPid, workers } = started(r.out());
    expect(workers).toHaveLength(2);
    for (const pid of [redisPid, ...workers.map((w) => w.pid)]) expect(alive(pid)).toBe(true);
    r.child.kill('SIGINT');
    expect(await r.exit).toBe(130);
    expect(r.out()).toMatch(/^SIGINT: stopping the workers and redis-server$/m);
    for (const pid of [redisPid, ...workers.map((w) => w.pid)]) expect(alive(pid), `pid ${pid}`).toBe(false);
    for (const w of workers) expect(existsSync(w.dir), w.dir).toBe(false);
  }, 120_000);
});
