/**
 * The seed's examples E1–E8, in threadkit, in order, plus the GIL point (CPU-bound work) and a
 * Pool of workers with a progress bar (pool-example.ts).
 *
 *   node dist/main.js [--scale <ms per seed second>] [--only E3,E4,...] [--primes <limit>]   (pnpm start)
 *   tsx src/main.ts   [the same options]                                                      (pnpm start:ts)
 *   bun src/main.ts   [the same options]                                      (Bun; pnpm start:bun)
 *   deno run --allow-read --allow-run --allow-env src/main.ts   [the same options]   (Deno; pnpm start:deno)
 *
 * Each example first runs as the seed writes it (printing what the seed prints). E1–E6 then play
 * the same tracks through a `Playlist` and draw its timeline: sequential play is a staircase of
 * bars, concurrent play a stack. E7 (`Pipe`) and E8 (`Queue`, `Lock`) draw what their processes
 * did, from the moments each task noted. Where the TypeScript differs from the seed, a comment says so.
 */
import { parseArgs } from 'node:util';
import {
  Barrier,
  Lock,
  Pipe,
  Playlist,
  Process,
  Queue,
  Thread,
  cpuCount,
  displayWidth,
  renderTimeline,
  taskModule,
  type AnyFunction,
  type PlayMode,
  type PlaylistEntry,
  type PlaylistReport,
  type Target,
} from '@threadkit/node';
// The task functions themselves, for the single-threaded examples (E1, E2), which call them directly...
import * as player from './tasks.ts';
import { poolExample } from './pool-example.ts';
// ...and the same module as tasks a worker can run: `tasks.music` names the export `music` of tasks.ts.
// The workers load this file's sibling, by this file's own extension: tasks.js next to dist/main.js
// (`pnpm start`: plain JavaScript, quick to load in every worker), tasks.ts next to src/main.ts
// (`pnpm start:ts` with tsx; on Node 20 each worker then compiles tasks.ts with tsx itself).
const fromSource = import.meta.url.endsWith('.ts');
const tasks = taskModule<typeof player>(new URL(fromSource ? './tasks.ts' : './tasks.js', import.meta.url));
const tasksFile = fromSource ? 'tasks.ts' : 'tasks.js';
const { ctime, now } = player;

// ── Command line ───────────────────────────────────────────────────────────────────────────

const EXAMPLES = ['E1', 'E2', 'E3', 'E4', 'E5', 'E6', 'E7', 'E8', 'CPU', 'POOL'] as const;
type ExampleId = (typeof EXAMPLES)[number];

// 150 ms per seed second: a full run takes about 20 s, and starting the workers (tens to hundreds
// of ms, more on a busy machine and for processes) stays small next to tracks of 300–1500 ms.
const DEFAULT_SCALE = 150;
// Deno and Bun give the Node version they implement as versions.node: name the runtime itself.
const { deno, bun, node } = process.versions;
const runtime = deno ? `Deno ${deno}` : bun ? `Bun ${bun}` : `Node ${node}`;
const mainFile = fromSource ? 'src/main.ts' : 'dist/main.js';
const command = deno
  ? `deno run --allow-read --allow-run --allow-env ${mainFile}`
  : bun
    ? `bun ${mainFile}`
    : fromSource
      ? 'tsx src/main.ts'
      : 'node dist/main.js';
const USAGE = `Usage: ${command} [options]
  --scale <ms>      milliseconds per seed second (default ${DEFAULT_SCALE})
  --only <ids>      run only these examples, e.g. --only E3 or --only E7,E8 (${EXAMPLES.join(', ')})
  --primes <limit>  CPU and POOL examples: count the primes below this limit (default 5000000)
  --help            show this help`;

function fail(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

function parseCli() {
  try {
    return parseArgs({
      options: {
        scale: { type: 'string', default: String(DEFAULT_SCALE) },
        only: { type: 'string', multiple: true },
        primes: { type: 'string', default: '5000000' },
        help: { type: 'boolean', default: false },
      },
      // `pnpm start -- --scale 50` passes a literal `--` through to us.
      args: process.argv.slice(2).filter((a) => a !== '--'),
    }).values;
  } catch (error) {
    fail((error as Error).message);
  }
}
const cli = parseCli();
if (cli.help) {
  console.log(USAGE);
  process.exit(0);
}
/** Milliseconds per seed second. */
const scale = Number(cli.scale);
if (!Number.isFinite(scale) || scale <= 0) fail(`--scale must be a positive number of milliseconds, got ${cli.scale}`);
const primesLimit = Number(cli.primes);
if (!Number.isInteger(primesLimit) || primesLimit < 2) fail(`--primes must be an integer >= 2, got ${cli.primes}`);
const only = new Set(
  (cli.only ?? [])
    .flatMap((s) => s.split(','))
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean),
);
for (const id of only) if (!(EXAMPLES as readonly string[]).includes(id)) fail(`--only: unknown example ${id}`);
const selected = (id: ExampleId) => only.size === 0 || only.has(id);

// ── Presentation helpers ───────────────────────────────────────────────────────────────────

/** A duration in seed seconds. */
const secs = (ms: number) => `${(ms / scale).toFixed(2)} s`;

function header(id: string, seed: string, shows: string): void {
  const title = `${id} · ${seed} `;
  console.log(`\n━━ ${title}${'━'.repeat(Math.max(3, 86 - displayWidth(title)))}`);
  console.log(`   ${shows}\n`);
}

/** Wall-clock total of a seed-style run, as the seed's "all end" line implies it. */
function total(id: string, startedAt: number, trackSum: number, concurrent?: { workers: string; longest: number }): void {
  const elapsed = secs(performance.now() - startedAt);
  if (!concurrent) console.log(`   (${id} total ${elapsed}; the tracks add up to ${trackSum} s)`);
  else
    console.log(`   (${id} total ${elapsed}, with starting ${concurrent.workers}; the tracks add up to ${trackSum} s, the longest is ${concurrent.longest} s)`);
}

/**
 * Plays the example's tracks again through a Playlist and draws the timeline. The bars are
 * measured inside the workers, from the moment the task module is loaded; the gap before the
 * first bar is the time it took to start the workers and load the task module in them.
 *
 * Concurrent tracks first meet at a start line (`tasks.together`, a Barrier with a party per
 * track), so each bar holds the moment the last player came up: the stack shows what running at
 * the same time means even when the workers took seconds to start, and tracks that did not run
 * at the same time could not get past the line.
 */
async function timeline(id: string, mode: PlayMode, entries: readonly PlaylistEntry[]): Promise<PlaylistReport> {
  if (mode === 'sequential') console.log(`\n   The same tracks as a Playlist, mode '${mode}':\n`);
  else {
    console.log(`\n   The same tracks as a Playlist, mode '${mode}'. Each player waits at a start line (a Barrier of ${entries.length})`);
    console.log("   until all are up, then plays: a bar runs from its player's arrival at the line to the end of its track.\n");
  }
  const startLine = mode === 'sequential' ? undefined : new Barrier(entries.length);
  // A task knows its export's name: `together` starts the player of that name once all have come.
  const played = startLine
    ? entries.map((e) => ({ title: e.title, task: tasks.together, args: [startLine, (e.task as { name: string }).name, ...e.args] }) as PlaylistEntry)
    : entries;
  const report = await new Playlist(played).play({ mode });
  const chart = renderTimeline(report, { unitMs: scale, unit: 's', width: 50 });
  console.log(chart.replace(/^/gm, '   '));
  const rows = report.timeline;
  const first = Math.min(...rows.map((r) => r.start));
  const span = Math.max(...rows.map((r) => r.end)) - first;
  const sum = rows.reduce((s, r) => s + (r.end - r.start), 0);
  const longest = Math.max(...rows.map((r) => r.end - r.start));
  // The last bar to begin: with a start line, the moment every player was up.
  const last = Math.max(...rows.map((r) => r.start));
  // The verdict is read off the measurement, never assumed.
  const verdict =
    span >= 0.9 * sum
      ? 'one after another: total ≈ sum of the tracks'
      : last < Math.min(...rows.map((r) => r.end))
        ? `they overlapped: ${rows.length === 2 ? 'both' : `all ${rows.length}`} were running at ${secs(last)}`
        : 'they partly overlapped';
  console.log(`\n   ${id} timeline: tracks played in ${secs(span)} (sum ${secs(sum)}, longest ${secs(longest)}): ${verdict}`);
  const workers = mode === 'sequential' ? 'its worker' : mode === 'processes' ? 'the processes' : 'the threads';
  const lastUp = startLine ? ` and ${Math.round(last)} ms before the last player reached the line` : '';
  console.log(
    `   (wall clock ${secs(report.elapsed)}: starting ${workers} and loading ${tasksFile} took ${Math.round(first)} ms before the first bar${lastUp})`,
  );
  return report;
}

/** A Playlist entry for a task and its arguments. */
function track<F extends AnyFunction>(title: string, task: Target<F>, args: Parameters<F>): PlaylistEntry {
  return { title, task, args } as PlaylistEntry;
}

// ── E1 ─────────────────────────────────────────────────────────────────────────────────────

async function e1(): Promise<void> {
  header('E1', 'music() then movie(), one thread', 'The single-thread era: tasks run one after another, so the total is the sum (2 s + 5 s = 7 s).');
  const t0 = performance.now();
  // The seed's `music()` and `movie()` take no arguments; ours take the time scale. E2 redefines
  // music and movie with a title, so tasks.ts calls E1's versions music1 and movie1.
  await player.music1(scale);
  await player.movie1(scale);
  console.log('all end;', ctime());
  total('E1', t0, 2 + 5);

  await timeline('E1', 'sequential', [track('music()', tasks.music1, [scale]), track('movie()', tasks.movie1, [scale])]);
}

// ── E2 ─────────────────────────────────────────────────────────────────────────────────────

async function e2(): Promise<void> {
  header('E2', 'music(func, loop), movie(func, loop)', 'A player for any title, played `loop` times: more useful, still sequential (2×2 s + 2×5 s = 14 s).');
  const t0 = performance.now();
  await player.music('爱情买卖', 2, scale);
  await player.movie('阿凡达', 2, scale);
  console.log('all end:', ctime());
  total('E2', t0, 2 * 2 + 2 * 5);

  await timeline('E2', 'sequential', [track('爱情买卖', tasks.music, ['爱情买卖', 2, scale]), track('阿凡达', tasks.movie, ['阿凡达', 2, scale])]);
}

// ── E3 ─────────────────────────────────────────────────────────────────────────────────────

async function e3(): Promise<void> {
  header(
    'E3',
    "threading.Thread(target=music, args=('爱情买卖', 2))",
    'The same two players on two threads: they overlap, so the tracks take the longest (10 s), not the sum (14 s).',
  );
  const t0 = performance.now();
  // 创建线程数组: an array of threads
  const threads: Thread[] = [];
  // 创建线程t1, 并添加到线程数组. `args` is an array where Python has a tuple.
  const t1 = new Thread({ target: tasks.music, args: ['爱情买卖', 2, scale] });
  threads.push(t1);
  const t2 = new Thread({ target: tasks.movie, args: ['阿凡达', 2, scale] });
  threads.push(t2);

  // 启动线程: start them all...
  for (const t of threads) t.start();
  // ...then wait for each. join() is async: without `await` (like without join() in Python),
  // "all end" would print before the music is over.
  for (const t of threads) await t.join();
  console.log(`all end: ${ctime()}`);
  total('E3', t0, 2 * 2 + 2 * 5, { workers: '2 threads', longest: 2 * 5 });

  await timeline('E3', 'threads', [track('爱情买卖', tasks.music, ['爱情买卖', 2, scale]), track('阿凡达', tasks.movie, ['阿凡达', 2, scale])]);
}

// ── E4 ─────────────────────────────────────────────────────────────────────────────────────

/** The seed's playlist: file → seconds per play. A plain object keeps insertion order like Python's dict. */
const lists = { 歌曲1: 3, 视频2: 3, 歌曲3: 4 };

async function e4(): Promise<void> {
  header(
    'E4',
    'super_player(file_, time) over a playlist, one thread each',
    'One thread per playlist entry, each plays twice: the total is the longest entry (2×4 s = 8 s), not the sum (20 s).',
  );
  const t0 = performance.now();
  const threads: Thread[] = [];
  // 创建线程: lists.items() is Object.entries(lists).
  for (const [file, time] of Object.entries(lists)) {
    const t = new Thread({ target: tasks.superPlayer, args: [file, time, scale] });
    threads.push(t);
  }
  // The seed's `files = range(len(lists))` indexes the array; for...of does the same.
  for (const t of threads) t.start();
  for (const t of threads) await t.join();
  console.log(`end: ${ctime()}`);
  total('E4', t0, 2 * (3 + 3 + 4), { workers: '3 threads', longest: 2 * 4 });

  await timeline(
    'E4',
    'threads',
    Object.entries(lists).map(([file, time]) => track(file, tasks.superPlayer, [file, time, scale])),
  );
}

// ── E5 ─────────────────────────────────────────────────────────────────────────────────────

/**
 * The seed's custom thread class. `run()` is the thread's body; it runs here in the parent and
 * sends work to the thread's worker with `this.invoke(task, ...args)`, because a function
 * itself cannot cross into a worker: `func` is a task (an export of the task module), not a closure.
 */
class MyThread<F extends AnyFunction> extends Thread<F> {
  readonly func: Target<F>;

  constructor(func: Target<F>, args: Parameters<F>, name = '') {
    // threading.Thread.__init__(self); args and name are Thread's own fields here.
    super({ args, name });
    this.func = func;
  }

  protected override run(): Promise<Awaited<ReturnType<F>>> {
    return this.invoke(this.func, ...this.args); // self.func(*self.args)
  }
}

async function e5(): Promise<void> {
  header(
    'E5',
    'class MyThread(threading.Thread) with run()',
    'A custom thread class: run() plays func(*args) in the thread; the two overlap (2×4 s = 8 s, not 14 s).',
  );
  const lists = { 歌曲: 3, 视频: 4 };
  const t0 = performance.now();
  const threads: MyThread<typeof player.superPlayer>[] = [];
  for (const [file, time] of Object.entries(lists)) {
    // super_play.__name__: a task knows its export's name.
    const t = new MyThread(tasks.superPlayer, [file, time, scale], tasks.superPlayer.name);
    threads.push(t);
  }
  for (const t of threads) t.start();
  for (const t of threads) await t.join();
  console.log(`end:${ctime()}`);
  console.log(`   (thread names: ${threads.map((t) => t.name).join(', ')})`);
  total('E5', t0, 2 * (3 + 4), { workers: '2 threads', longest: 2 * 4 });

  await timeline(
    'E5',
    'threads',
    Object.entries(lists).map(([file, time]) => track(file, tasks.superPlayer, [file, time, scale])),
  );
}

// ── E6 ─────────────────────────────────────────────────────────────────────────────────────

async function e6(): Promise<void> {
  header(
    'E6',
    'multiprocessing.Process(target=super_player, args=(file_, time))',
    'E4 with processes: the same API, each player an OS process with its own pid; the total is again the longest entry.',
  );
  const t0 = performance.now();
  const processes: Process[] = [];
  for (const [file, time] of Object.entries(lists)) {
    const p = new Process({ target: tasks.superPlayer, args: [file, time, scale] });
    processes.push(p);
  }
  // 启动进程
  for (const p of processes) {
    p.start();
    console.log(`${p.name}: pid ${p.pid} (this program is pid ${process.pid})`);
  }
  for (const p of processes) await p.join();
  console.log(`end:${ctime()}`);
  console.log(`   (exit codes: ${processes.map((p) => `${p.name} ${p.exitCode}`).join(', ')})`);
  total('E6', t0, 2 * (3 + 3 + 4), { workers: '3 processes', longest: 2 * 4 });

  await timeline(
    'E6',
    'processes',
    Object.entries(lists).map(([file, time]) => track(file, tasks.superPlayer, [file, time, scale])),
  );
}

// ── E7: pipe.py ────────────────────────────────────────────────────────────────────────────

/** A message as Python prints it in a repr: 'hello'. */
const repr = (obj: unknown) => (typeof obj === 'string' ? `'${obj}'` : JSON.stringify(obj));

async function e7(): Promise<void> {
  header(
    'E7',
    "pipe.py: Pipe(), proc1 sends 'hello', proc2 answers 'hello, too'",
    'A duplex pipe between two processes: each of its two ends (Connection objects) can send() and recv().',
  );
  // pipe = multiprocessing.Pipe(): two connected ends, pipe[0] and pipe[1]. Pipe({ duplex: false }) is one-way.
  const pipe = Pipe();

  // An end travels to a process as an ordinary argument. `args` is an array where Python has a tuple.
  const p1 = new Process({ target: tasks.proc1, args: [pipe[0]] });
  const p2 = new Process({ target: tasks.proc2, args: [pipe[1]] });

  const t0 = now();
  p1.start();
  p2.start();
  console.log(`proc1: ${p1.name}, pid ${p1.pid}, started ${ctime()}`);
  console.log(`proc2: ${p2.name}, pid ${p2.pid}, started ${ctime()}`);
  await p1.join();
  await p2.join();
  console.log(`   (exit codes: proc1 ${p1.exitCode}, proc2 ${p2.exitCode}; this program is pid ${process.pid})`);

  // The timeline: each process timed its own steps; result() gives what its task returned.
  const traces = [
    { fn: 'proc1', trace: await p1.result() },
    { fn: 'proc2', trace: await p2.result() },
  ];
  const events = traces.flatMap(({ trace }, column) => trace.steps.map((step) => ({ column, step }))).sort((a, b) => a.step.at - b.step.at);
  const say = (step: player.PipeStep) =>
    step.what === 'begin'
      ? 'task begins'
      : step.what === 'send'
        ? `send(${repr(step.obj)})`
        : step.what === 'recv'
          ? 'recv() waits…'
          : `recv() → ${repr(step.obj)}`;
  const colW = 30;
  console.log(`\n   E7 timeline: each process timed its own steps, in ms after start():\n`);
  console.log(
    `       ms  ${traces
      .map(({ fn, trace }) => `${fn} (pid ${trace.pid})`.padEnd(colW))
      .join('')
      .trimEnd()}`,
  );
  for (const { column, step } of events) {
    console.log(
      `   ${Math.round(step.at - t0)
        .toString()
        .padStart(6)}  ${' '.repeat(colW * column)}${say(step)}`,
    );
  }
  console.log(`\n   Between processes the pipe stays with this program, which made it: each process holds a proxy of its end,`);
  console.log("   whose send() and recv() travel over the process's IPC channel; between threads the ends share memory.");
}

// ── E8: queue.py ───────────────────────────────────────────────────────────────────────────

/** A process's put or get, for the E8 timeline. */
interface QueueRow {
  readonly fn: 'inputQ' | 'outputQ';
  readonly name: string;
  readonly step: player.QueueStep;
}

/**
 * Draws the 20 processes on one time axis, from the first task's beginning to the last put or
 * get: a row per process, `├` where its task began, `─` while its put or get was under way, `●` where
 * it went through; and below, how many items the queue held, as this program (which owns it)
 * sampled it.
 */
function queueTimeline(rows: readonly QueueRow[], sizes: readonly { at: number; size: number }[], width = 50): string[] {
  const from = Math.min(...rows.map((r) => r.step.start));
  const span = Math.max(1, Math.max(...rows.map((r) => r.step.done)) - from);
  const col = (at: number) => Math.max(0, Math.min(width - 1, Math.floor(((at - from) / span) * width)));
  const nameW = Math.max(...rows.map((r) => r.name.length));
  const label = (fn: string, name: string, pid: number | string) => `${fn.padEnd(7)}  ${name.padEnd(nameW)}  pid ${String(pid).padEnd(7)}`;
  const indent = label('', '', '').length;
  const scale = `0 ms${' '.repeat(Math.max(1, width - 4 - `${Math.round(span)} ms`.length))}${Math.round(span)} ms`;
  const lines = [`${' '.repeat(indent)}  ${scale}`];
  for (const { fn, name, step } of rows) {
    const a = col(step.start);
    const b = Math.max(a, col(step.done));
    const cells = Array.from({ length: width }, (_, i) => (i === b ? '●' : i === a ? '├' : i > a && i < b ? '─' : ' '));
    lines.push(`${label(fn, name, step.pid)} │${cells.join('')}│ ${fn === 'inputQ' ? 'put' : 'get'} took ${Math.round(step.done - step.start)} ms`);
  }
  // Per column, how many items it held at the end of that slice of time (a sample carries over
  // until the next one); the samples after the last get, when it is empty again, go in the last column.
  let held = [...sizes].reverse().find((s) => s.at < from)?.size ?? 0;
  const sizeRow = Array.from({ length: width }, (_, i) => {
    for (const s of sizes) if (s.at >= from && col(s.at) === i) held = s.size;
    return String(held);
  });
  lines.push(`${'items in the queue'.padEnd(indent)} │${sizeRow.join('')}│`);
  return lines;
}

/** The middle value. */
function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function e8(): Promise<void> {
  header(
    'E8',
    'queue.py: Queue(3), 10 processes put, 10 processes get, a Lock',
    'A bounded queue shared by 20 processes: put waits while it holds 3 items, get while it is empty; a Lock keeps lines whole.',
  );
  const t0 = now();
  const record1: Process[] = [];
  const record2: Process[] = [];
  const lock = new Lock(); // 加锁，为防止散乱的打印: a lock, so the printed lines do not get mixed up
  const queue = new Queue<string>(3); // or new Queue<string>({ maxsize: 3 })
  // Not in the seed: this program owns the queue, and samples how many items it holds for the timeline.
  const sizes: { at: number; size: number }[] = [];
  const sampler = setInterval(() => sizes.push({ at: now(), size: queue.qsize() }), 2);

  // `process` shadows Node's global of that name inside these two loops only, as in the seed.
  for (let i = 0; i < 10; i++) {
    const process = new Process({ target: tasks.inputQ, args: [queue] });
    process.start();
    record1.push(process);
  }

  for (let i = 0; i < 10; i++) {
    const process = new Process({ target: tasks.outputQ, args: [queue, lock] });
    process.start();
    record2.push(process);
  }
  console.log(`producers (inputQ):  pids ${record1.map((p) => p.pid).join(', ')}`);
  console.log(`consumers (outputQ): pids ${record2.map((p) => p.pid).join(', ')}`);

  for (const p of record1) {
    await p.join();
  }

  queue.close();

  for (const p of record2) {
    await p.join();
  }
  clearInterval(sampler);
  sizes.push({ at: now(), size: queue.qsize() });
  const failed = [...record1, ...record2].filter((p) => p.exitCode !== 0);
  console.log(`   (exit codes: ${failed.length === 0 ? 'all 20 processes 0' : failed.map((p) => `${p.name} ${p.exitCode}`).join(', ')})`);

  const puts = await Promise.all(record1.map((p) => p.result()));
  const gets = await Promise.all(record2.map((p) => p.result()));
  const rows: QueueRow[] = [
    ...puts.map((step, i) => ({ fn: 'inputQ' as const, name: record1[i]!.name, step })),
    ...gets.map((step, i) => ({ fn: 'outputQ' as const, name: record2[i]!.name, step })),
  ];
  console.log('\n   E8 timeline: ├ a task begins (its process is up), ─ its put or get is under way (waiting, or on its round');
  console.log('   trip to this program, which owns the queue), ● it went through; below, the items in the queue as sampled here.\n');
  for (const line of queueTimeline(rows, sizes)) console.log(`   ${line}`);
  const firstTask = Math.min(...rows.map((r) => r.step.start));
  const lastStep = Math.max(...rows.map((r) => r.step.done));
  console.log(`   (starting the 20 processes and loading ${tasksFile} took ${Math.round(firstTask - t0)} ms before the first task began)`);

  // What the timeline shows, read off the measurements, never assumed.
  const most = Math.max(...sizes.map((s) => s.size));
  const during = sizes.filter((s) => s.at >= firstTask && s.at <= lastStep);
  const fullShare = during.length ? Math.round((100 * during.filter((s) => s.size >= 3).length) / during.length) : 0;
  console.log(
    `\n   The queue held at most ${most} items (maxsize 3); it was full in ${fullShare}% of the ${during.length} samples this program took while the tasks ran.`,
  );
  const took = (steps: readonly player.QueueStep[]) => steps.map((s) => s.done - s.start);
  const range = (values: number[]) => `${Math.round(Math.min(...values))}–${Math.round(Math.max(...values))} ms (median ${Math.round(median(values))} ms)`;
  const putMedian = median(took(puts));
  const getMedian = median(took(gets));
  console.log(`   A put took ${range(took(puts))}, a get ${range(took(gets))}.`);
  // A put or get that does not wait still takes a round trip to this program: only a clear difference counts.
  console.log(
    putMedian >= 30 && putMedian >= 2 * getMedian
      ? '   The producers waited for room: the queue stayed full until consumers took items, then a waiting put went through.'
      : getMedian >= 30 && getMedian >= 2 * putMedian
        ? '   The consumers waited for items: they were up before most producers, and each get went through when a put came.'
        : '   Neither side waited long this time: the processes came up spread out, so the queue seldom stayed full or empty.',
  );
  // The check: every item put was got exactly once, and by one of the consumers.
  const put = puts.map((s) => s.info);
  const got = gets.map((s) => s.info);
  const once = put.every((info) => got.filter((g) => g === info).length === 1);
  const ok = put.length === 10 && got.length === 10 && new Set(got).size === 10 && once;
  console.log(`   check: ${put.length} items put, ${got.length} got, ${ok ? 'each exactly once' : 'NOT each exactly once'}`);
  if (!ok) throw new Error(`E8: the items got do not match the items put:\nput: ${put.join(', ')}\ngot: ${got.join(', ')}`);
}

// ── CPU: the GIL point ─────────────────────────────────────────────────────────────────────

/**
 * A thread that counts its part of the primes. Like E5's MyThread it overrides run(), the
 * thread's body, which runs here in the parent: first it loads the task module in its worker,
 * then it waits at a start line until every counter is loaded, so no thread counts while another
 * is still starting (starting a worker is CPU work too, more so when tsx compiles tasks.ts in it).
 */
class PrimeCounter extends Thread {
  constructor(
    readonly part: number,
    readonly parts: number,
    readonly startLine: { arrive(): void; ready: Promise<void> },
  ) {
    super({ name: `Thread-${part + 1}` });
  }

  protected override async run(): Promise<{ primes: number; start: number; end: number }> {
    await this.invoke(tasks.countPrimes, 0); // nothing to count: just loads the task module in this worker
    this.startLine.arrive();
    await this.startLine.ready;
    return this.invoke(tasks.countPrimesTimed, primesLimit, this.part, this.parts);
  }
}

/** Counts the primes split over `parts` threads; returns the wall clock and a timeline of the counting itself. */
async function countOn(parts: number): Promise<{ primes: number; wall: number; computing: number; report: PlaylistReport }> {
  const origin = performance.timeOrigin + performance.now();
  const t0 = performance.now();
  let arrived = 0;
  let go!: () => void;
  const startLine = { ready: new Promise<void>((resolve) => (go = resolve)), arrive: () => void (++arrived === parts && go()) };
  const threads: PrimeCounter[] = [];
  for (let i = 0; i < parts; i++) threads.push(new PrimeCounter(i, parts, startLine));
  for (const t of threads) t.start();
  // result() is join() plus the value run() returned (or its error, with the remote stack).
  const results = (await Promise.all(threads.map((t) => t.result()))) as { primes: number; start: number; end: number }[];
  const wall = performance.now() - t0;
  const rows = results.map((r, i) => ({
    title: parts === 1 ? 'all numbers' : `part ${i + 1} of ${parts}`,
    worker: threads[i]!.name,
    start: r.start - origin,
    end: r.end - origin,
    result: r.primes,
  }));
  const computing = Math.max(...rows.map((r) => r.end)) - Math.min(...rows.map((r) => r.start));
  const primes = results.reduce((s, r) => s + r.primes, 0);
  // renderTimeline draws any { mode, elapsed, timeline }: here, the counting as each thread timed it.
  return { primes, wall, computing, report: { mode: 'threads', elapsed: wall, timeline: rows } };
}

async function cpu(): Promise<void> {
  const n = Math.max(2, cpuCount());
  header(
    'CPU',
    `the GIL: CPU-bound work on 1 thread vs ${n} threads`,
    `In CPython the GIL lets one thread run Python at a time, so CPU-bound threads do not speed up. JavaScript threads are
   real parallel threads (an engine instance each): count the primes below ${primesLimit.toLocaleString('en-US')} on 1 thread, then split over ${n}.`,
  );
  const show = (report: PlaylistReport) => console.log(renderTimeline(report, { unitMs: 1000, unit: 's', width: 50 }).replace(/^/gm, '   '));
  const ms = (v: number) => `${Math.round(v)} ms`;

  const one = await countOn(1);
  show(one.report);
  console.log();
  const many = await countOn(n);
  show(many.report);

  console.log(`\n   1 thread : ${one.primes} primes, counting took ${ms(one.computing)}, wall clock ${ms(one.wall)} (with starting it)`);
  console.log(`   ${n} threads: ${many.primes} primes, counting took ${ms(many.computing)}, wall clock ${ms(many.wall)}`);
  const speedup = one.computing / many.computing;
  console.log(`   CPU speed-up: ${speedup.toFixed(2)}× counting, ${(one.wall / many.wall).toFixed(2)}× wall clock, on ${cpuCount()} logical CPUs`);
  // Measured, never assumed: the verdict follows the numbers.
  console.log(
    speedup >= 1.3
      ? '   Measured: the threads counted in parallel. No GIL: for CPU-bound work, JS threads do what Python needs processes for.'
      : '   Measured: no real speed-up this time (a busy machine, or a single CPU?); try again with a larger --primes.',
  );
  if (one.primes !== many.primes) throw new Error(`the ${n} parts counted ${many.primes} primes, the whole ${one.primes}`);
}

// ── Run them in order ──────────────────────────────────────────────────────────────────────

const examples: Record<ExampleId, () => Promise<void>> = {
  E1: e1,
  E2: e2,
  E3: e3,
  E4: e4,
  E5: e5,
  E6: e6,
  E7: e7,
  E8: e8,
  CPU: cpu,
  POOL: () => poolExample({ tasks, limit: primesLimit, header, live: process.stdout.isTTY === true }),
};

console.log(`threadkit demo: the seed's examples on ${runtime}. 1 seed second = ${scale} ms.`);
console.log(`Every thread or process starts its own JavaScript engine and loads ${tasksFile} before it plays: that start-up,`);
console.log('tens to hundreds of milliseconds (more on a busy machine, more for a process), is the gap before the bars.');
if (fromSource && !(process.features as { typescript?: unknown }).typescript) {
  console.log(`Running from src: on Node ${process.versions.node} each worker compiles tasks.ts with tsx (a few tenths of a second each).`);
  console.log('`pnpm start` runs the compiled JavaScript (dist/) and starts its workers several times faster.');
}
const started = performance.now();
for (const id of EXAMPLES) if (selected(id)) await examples[id]();
console.log(`\nDone in ${((performance.now() - started) / 1000).toFixed(1)} s (real seconds).`);
