/**
 * Runs the demo as a user would (a child process) and checks what it prints: every example is
 * there, sequential play takes at least the sum of the tracks, concurrent players that met at a
 * start line overlap, the Pipe (E7) carries both messages and the Queue (E8) delivers every item
 * exactly once. Only what the code guarantees is checked, never how fast a busy machine was:
 * starting a worker may take seconds there, so how much concurrent play saves is measured and
 * printed by the demo, not asserted.
 *
 * It runs the compiled demo, dist/main.js, as `pnpm start` does (test/build.ts builds it first),
 * and once src/main.ts under tsx, as `pnpm start:ts` does, for the `.ts` task module.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
// ms per seed second: a full run plays 5.5 s of tracks.
const SCALE = 50;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Runs `node dist/main.js` (`pnpm start`), or with `{ ts: true }` `tsx src/main.ts` (`pnpm start:ts`).
 * A run that outlives `timeoutMs` is killed: a bound for a hang (about 25 s on a 2-core machine at
 * a load of 5), not a speed check.
 */
function runDemo(args: string[], { ts = false, timeoutMs = 150_000 } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    // `--import tsx` is what the tsx binary does; it resolves tsx from this package.
    const command = ts ? ['--import', 'tsx', 'src/main.ts'] : ['dist/main.js'];
    const child = spawn(process.execPath, [...command, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // A demo that hangs (a worker keeping the program alive) fails here instead of stalling the run.
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started });
    });
  });
}

/** The text of one example: from its header to the next one. */
function section(out: string, id: string): string {
  const start = out.indexOf(`━━ ${id} ·`);
  expect(start, `header of ${id}`).toBeGreaterThanOrEqual(0);
  const next = out.indexOf('\n━━ ', start + 1);
  return out.slice(start, next === -1 ? undefined : next);
}

/** The seed-style run's wall-clock total and the sum of its tracks (and the longest, if concurrent), in seed seconds. */
function seedTotal(text: string, id: string): { total: number; sum: number; longest?: number } {
  const m = new RegExp(`\\(${id} total ([\\d.]+) s(?:, with starting [^;]+)?; the tracks add up to (\\d+) s(?:, the longest is (\\d+) s)?\\)`).exec(text);
  expect(m, `${id} total line`).not.toBeNull();
  return { total: Number(m![1]), sum: Number(m![2]), ...(m![3] === undefined ? {} : { longest: Number(m![3]) }) };
}

/** The timeline's measured playing time (first bar start to last bar end), sum and longest bar, in seed seconds. */
function played(text: string, id: string): { span: number; sum: number; longest: number } {
  const m = new RegExp(`${id} timeline: tracks played in ([\\d.]+) s \\(sum ([\\d.]+) s, longest ([\\d.]+) s\\)`).exec(text);
  expect(m, `${id} timeline line`).not.toBeNull();
  return { span: Number(m![1]), sum: Number(m![2]), longest: Number(m![3]) };
}

/** The bars of the example's timeline chart, as `start → end` in seed seconds. */
function bars(text: string): { start: number; end: number }[] {
  return [...text.matchAll(/│ {2}([\d.]+)s → ([\d.]+)s$/gm)].map((m) => ({ start: Number(m[1]), end: Number(m[2]) }));
}

const overlaps = (a: { start: number; end: number }, b: { start: number; end: number }) => a.start < b.end && b.start < a.end;

const count = (text: string, pattern: RegExp) => text.match(new RegExp(pattern, 'g'))?.length ?? 0;

describe('the demo, run as a child process', () => {
  let run: Run;
  beforeAll(async () => {
    run = await runDemo(['--scale', String(SCALE), '--primes', '2000000']);
  }, 180_000);

  it('exits 0 on its own, with nothing on stderr', () => {
    expect(run.signal, `killed: it hung\n${run.stdout}`).toBeNull();
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Done in [\d.]+ s/);
  });

  it('prints the scale and every example header', () => {
    expect(run.stdout).toContain(`1 seed second = ${SCALE} ms`);
    for (const id of ['E1', 'E2', 'E3', 'E4', 'E5', 'E6', 'E7', 'E8', 'CPU', 'POOL']) expect(run.stdout).toContain(`━━ ${id} ·`);
  });

  it('E1, E2: sequential play takes the sum of the tracks', () => {
    for (const id of ['E1', 'E2']) {
      const text = section(run.stdout, id);
      const { total, sum } = seedTotal(text, id);
      expect(total, `${id} seed-style total`).toBeGreaterThanOrEqual(0.9 * sum);
      const t = played(text, id);
      expect(t.span, `${id} timeline:\n${text}`).toBeGreaterThanOrEqual(0.9 * t.sum);
      const rows = bars(text);
      expect(rows).toHaveLength(2);
      expect(overlaps(rows[0]!, rows[1]!), `${id}: the bars must not overlap: ${JSON.stringify(rows)}`).toBe(false);
      expect(text).toMatch(/one after another/);
    }
    // The seed's own lines, each player played `loop` times (seed-style run + Playlist run).
    const e2 = section(run.stdout, 'E2');
    expect(count(e2, /listen 爱情买卖 \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d\.\d{3} \d{4}/)).toBe(4);
    expect(count(e2, /look 阿凡达 /)).toBe(4);
  });

  it('E3, E4, E5, E6: concurrent players meet at a start line, so every pair of bars overlaps; no seed-style run beats its longest track', () => {
    for (const [id, n] of [
      ['E3', 2],
      ['E4', 3],
      ['E5', 2],
      ['E6', 3],
    ] as const) {
      const text = section(run.stdout, id);
      // Each bar runs from its player's arrival at the line to its end; the line opens only when all
      // have arrived, so every bar holds that moment, however long the workers took to start. Played
      // one after another, they could not have passed the line: the demo would have failed.
      expect(text).toContain(`Each player waits at a start line (a Barrier of ${n})`);
      const rows = bars(text);
      expect(rows, id).toHaveLength(n);
      for (let i = 0; i < n; i++) {
        for (let j = i + 1; j < n; j++) expect(overlaps(rows[i]!, rows[j]!), `${id}: bars ${i} and ${j} overlap: ${JSON.stringify(rows)}`).toBe(true);
      }
      expect(text).toMatch(new RegExp(`${id} timeline: .*: they overlapped: ${n === 2 ? 'both' : `all ${n}`} were running at [\\d.]+ s`));
      // The seed-style run joins every worker, and the longest track sleeps that long in one of them.
      const { total, longest } = seedTotal(text, id);
      expect(longest, id).toBeDefined();
      expect(total, `${id}: total ${total} s, no less than its longest track, ${longest} s`).toBeGreaterThanOrEqual(0.98 * longest!);
    }
  });

  it('E3: "all end" prints after both threads were joined', () => {
    const text = section(run.stdout, 'E3');
    const seedPart = text.slice(0, text.indexOf('The same tracks as a Playlist'));
    expect(count(seedPart, /listen 爱情买卖 /)).toBe(2);
    expect(count(seedPart, /look 阿凡达 /)).toBe(2);
    expect(seedPart.indexOf('all end:')).toBeGreaterThan(seedPart.lastIndexOf('look 阿凡达'));
    expect(seedPart.indexOf('all end:')).toBeGreaterThan(seedPart.lastIndexOf('listen 爱情买卖'));
  });

  it('E4: every playlist entry plays twice', () => {
    const text = section(run.stdout, 'E4');
    for (const file of ['歌曲1', '视频2', '歌曲3']) expect(count(text, new RegExp(`Start playing: ${file} `))).toBe(4);
    expect(text).toMatch(/\nend: /);
  });

  it('E5: MyThread runs func(*args) under the name it was given', () => {
    const text = section(run.stdout, 'E5');
    expect(count(text, /Start playing: 歌曲 /)).toBe(4);
    expect(count(text, /Start playing: 视频 /)).toBe(4);
    expect(text).toContain('thread names: superPlayer, superPlayer');
  });

  it('E6: each player is an OS process with its own pid, and exits 0', () => {
    const text = section(run.stdout, 'E6');
    const pids = [...text.matchAll(/Process-\d+: pid (\d+) \(this program is pid (\d+)\)/g)];
    expect(pids).toHaveLength(3);
    const mine = pids[0]![2];
    expect(new Set(pids.map((m) => m[1])).size).toBe(3);
    for (const m of pids) expect(m[1]).not.toBe(mine);
    expect(text).toMatch(/exit codes: Process-\d+ 0, Process-\d+ 0, Process-\d+ 0/);
    expect(text).toContain("mode 'processes'");
  });

  it('E7: proc1 and proc2, two processes, talk both ways over one Pipe', () => {
    const text = section(run.stdout, 'E7');
    // The seed's two lines, each whole on a line of its own.
    expect(text).toMatch(/^proc1 rec: hello, too$/m);
    expect(text).toMatch(/^proc2 rec: hello$/m);
    expect(count(text, /rec: /)).toBe(2);
    // Each is an OS process of its own, identified with the time it started, and exits 0.
    const started = [...text.matchAll(/^(proc[12]): Process-\d+, pid (\d+), started \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d\.\d{3} \d{4}$/gm)];
    expect(started.map((m) => m[1])).toEqual(['proc1', 'proc2']);
    const main = /this program is pid (\d+)/.exec(text)?.[1];
    expect(main).toBeDefined();
    expect(new Set([started[0]![2], started[1]![2], main]).size).toBe(3);
    expect(text).toContain('exit codes: proc1 0, proc2 0');
    // The timeline comes from the processes themselves: the pids they saw, and what went which way.
    expect(text).toContain(`proc1 (pid ${started[0]![2]})`);
    expect(text).toContain(`proc2 (pid ${started[1]![2]})`);
    const timeline = text.slice(text.indexOf('E7 timeline'));
    for (const step of ["send('hello')", "recv() → 'hello'", "send('hello, too')", "recv() → 'hello, too'"]) expect(timeline).toContain(step);
  });

  it('E8: 10 producer and 10 consumer processes; every item got exactly once, every line whole', () => {
    const text = section(run.stdout, 'E8');
    const producers = /^producers \(inputQ\): +pids ([\d, ]+)$/m.exec(text)?.[1]?.split(', ') ?? [];
    const consumers = /^consumers \(outputQ\): +pids ([\d, ]+)$/m.exec(text)?.[1]?.split(', ') ?? [];
    expect(producers).toHaveLength(10);
    expect(consumers).toHaveLength(10);
    expect(new Set([...producers, ...consumers]).size).toBe(20);
    // Every line that mentions (get) or (put) is one whole "<pid>(get):<pid>(put):<time>" line:
    // printed under the lock, no process's line ran into another's.
    const lines = text.split('\n').filter((l) => /\((get|put)\)/.test(l));
    expect(lines, lines.join('\n')).toHaveLength(10);
    const got = lines.map((l) => /^(\d+)\(get\):(\d+)\(put\):(\d{10}(?:\.\d+)?)$/.exec(l));
    for (const [i, m] of got.entries()) expect(m, `an intact line: ${JSON.stringify(lines[i])}`).not.toBeNull();
    // 10 distinct consumers printed one line each, and each producer's item was got exactly once.
    expect(got.map((m) => m![1]).sort()).toEqual([...consumers].sort());
    expect(got.map((m) => m![2]).sort()).toEqual([...producers].sort());
    expect(new Set(lines).size).toBe(10);
    expect(text).toContain('exit codes: all 20 processes 0');
    expect(text).toContain('check: 10 items put, 10 got, each exactly once');
    // The timeline: a row per process, and the queue never held more than its maxsize of 3.
    expect([...text.matchAll(/^ {3}(inputQ|outputQ) +Process-\d+ +pid \d+ +│/gm)]).toHaveLength(20);
    const held = /^ {3}items in the queue +│(\d+)│$/m.exec(text)?.[1];
    expect(held, 'the row of queue sizes').toBeDefined();
    expect(Math.max(...[...held!].map(Number))).toBeLessThanOrEqual(3);
    expect(Number(/The queue held at most (\d+) items/.exec(text)?.[1])).toBeLessThanOrEqual(3);
  });

  it('CPU: the parts add up to the whole, and the speed-up is measured (not asserted)', () => {
    const text = section(run.stdout, 'CPU');
    const counts = [...text.matchAll(/threads? *: (\d+) primes, counting took (\d+) ms/g)];
    expect(counts).toHaveLength(2);
    expect(counts[0]![1]).toBe('148933'); // primes below 2,000,000
    expect(counts[1]![1]).toBe(counts[0]![1]);
    expect(text).toMatch(/CPU speed-up: [\d.]+× counting, [\d.]+× wall clock/);
  });

  it('POOL: both pools count the same primes, the progress bar reaches every part, and the speed-up is measured', () => {
    const text = section(run.stdout, 'POOL');
    const counts = [...text.matchAll(/workers? *: (\d+) primes in (\d+) ms/g)];
    expect(counts).toHaveLength(2);
    expect(counts[0]![1]).toBe('148933'); // primes below 2,000,000
    expect(counts[1]![1]).toBe(counts[0]![1]);
    // Not a terminal: the bar is printed at each quarter, for each pool, and ends full.
    const bars = [...text.matchAll(/^ {3}\d+ workers? +\[([█░]+)\] +(\d+)\/40 parts$/gm)];
    expect(bars.map((m) => Number(m[2]))).toEqual([10, 20, 30, 40, 10, 20, 30, 40]);
    expect(bars[3]![1]).toBe('█'.repeat(30));
    expect(text).toMatch(/Pool speed-up: [\d.]+× on \d+ logical CPUs \(\d+% of linear\)/);
  });

  it('--only runs just the chosen examples; a bad option exits 2 with the usage', async () => {
    const e1 = await runDemo(['--scale', '5', '--only', 'e1,E7']);
    expect(e1.code).toBe(0);
    expect(e1.stdout).toContain('━━ E1 ·');
    expect(e1.stdout).toContain('━━ E7 ·');
    expect(e1.stdout).toMatch(/^proc1 rec: hello, too$/m);
    for (const id of ['E2', 'E6', 'E8', 'CPU', 'POOL']) expect(e1.stdout).not.toContain(`━━ ${id} ·`);
    const bad = await runDemo(['--only', 'E9']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown example E9[\s\S]*Usage: node dist\/main\.js/);
  });

  it('the workers load the compiled task module, dist/tasks.js', () => {
    expect(run.stdout).toContain('loads tasks.js before it plays');
    expect(run.stdout).toMatch(/starting the threads and loading tasks\.js took \d+ ms before the first bar/);
    expect(run.stdout).not.toContain('Running from src');
  });
});

describe('from source under tsx (pnpm start:ts)', () => {
  it('the workers load the .ts task module itself, and E3 runs as from dist', async () => {
    const ts = await runDemo(['--scale', '20', '--only', 'E3'], { ts: true });
    expect(ts.stderr).toBe('');
    expect(ts.code, ts.stdout).toBe(0);
    expect(ts.stdout).toContain('loads tasks.ts before it plays');
    expect(ts.stdout).toMatch(/starting the threads and loading tasks\.ts took \d+ ms before the first bar/);
    const text = section(ts.stdout, 'E3');
    expect(count(text, /listen 爱情买卖 /)).toBe(4);
    expect(count(text, /look 阿凡达 /)).toBe(4);
    expect(text).toContain('all end:');
    expect(bars(text)).toHaveLength(2);
  }, 180_000);
});
