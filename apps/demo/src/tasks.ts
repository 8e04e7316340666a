/**
 * The seed's task functions: what runs in a thread or a process.
 *
 * A task module is a plain module of exported functions. main.ts calls them directly (the
 * seed's single-threaded examples) and runs them in workers through
 * `taskModule<typeof import('./tasks.ts')>(new URL('./tasks.js', import.meta.url))`: the compiled
 * dist/tasks.js under `pnpm start`, or this file itself (`./tasks.ts`) under `pnpm start:ts`.
 *
 * Where the TS differs from the seed: every player takes one extra, last argument, `scaleMs`
 * (milliseconds per seed "second"), so the demo can play the seed's 2 s / 5 s tracks in a
 * fraction of the time. It is passed explicitly rather than read from an environment
 * variable, so the same module works in every runtime's workers.
 *
 * E7 and E8 (`pipe.py`, `queue.py`) take no scale: they do not sleep. They read `process.pid`,
 * the seed's `os.getpid()`, so they are for Node, like the demo; each also returns when it did
 * what (epoch milliseconds), which main.ts draws as a timeline.
 */
import type { Barrier, Connection, Lock, Queue } from '@threadkit/node';

/** A seed "second" at the default scale of the standalone functions: a real second. */
const SECOND = 1000;

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => String(n).padStart(2, '0');

/** Wall-clock milliseconds comparable across threads and processes (each has its own `performance.timeOrigin`). */
export const now = () => performance.timeOrigin + performance.now();

/**
 * Python's `time.ctime()` (`Wed Nov 26 19:09:01 2025`), with milliseconds added
 * (`19:09:01.042`) because the demo shrinks seconds.
 */
export function ctime(date = new Date()): string {
  const day = String(date.getDate()).padStart(2, ' ');
  const time = `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${String(date.getMilliseconds()).padStart(3, '0')}`;
  return `${DAYS[date.getDay()]} ${MONTHS[date.getMonth()]} ${day} ${time} ${date.getFullYear()}`;
}

/** Python's `time.sleep(seconds)`, in seed seconds of `scaleMs` milliseconds each. */
export function sleep(seconds: number, scaleMs = SECOND): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, seconds * scaleMs));
}

// ── E1: the first player. `music()` and `movie()` take no title and play once. ──────────────

/** E1's `music()`: print the time, "play" for 2 seconds. */
export async function music1(scaleMs = SECOND): Promise<void> {
  console.log(ctime());
  await sleep(2, scaleMs);
}

/** E1's `movie()`: print the time, "play" for 5 seconds. */
export async function movie1(scaleMs = SECOND): Promise<void> {
  console.log(ctime());
  await sleep(5, scaleMs);
}

// ── E2–E3: a player for any title, played `loop` times. ────────────────────────────────────

/** `music(func, loop)`: listen to `func` `loop` times, 2 seconds each. */
export async function music(func: string, loop: number, scaleMs = SECOND): Promise<void> {
  for (let i = 0; i < loop; i++) {
    console.log(`listen ${func} ${ctime()}`);
    await sleep(2, scaleMs);
  }
}

/** `movie(func, loop)`: look at `func` `loop` times, 5 seconds each. */
export async function movie(func: string, loop: number, scaleMs = SECOND): Promise<void> {
  for (let i = 0; i < loop; i++) {
    console.log(`look ${func} ${ctime()}`);
    await sleep(5, scaleMs);
  }
}

// ── E4–E6: the super player. ───────────────────────────────────────────────────────────────

/** `super_player(file_, time)`: plays `file` twice, `time` seconds each. */
export async function superPlayer(file: string, time: number, scaleMs = SECOND): Promise<void> {
  for (let i = 0; i < 2; i++) {
    // The two plays make the overlap of concurrent players easy to see.
    console.log(`Start playing: ${file} ${ctime()}`);
    await sleep(time, scaleMs);
  }
}

// ── Playing together: the concurrent Playlists of E3–E6. ──────────────────────────────────

/** The players a concurrent Playlist starts together, by their export names. */
const players = { music, movie, superPlayer };

/** The name of a player {@link together} can start. */
export type PlayerName = keyof typeof players;

/**
 * Not in the seed: waits at `startLine` (a Barrier with a party per track) until every player of
 * the Playlist is up, then plays `player(...args)`. A track's bar runs from the moment its task
 * began to its end, so every bar holds the moment the last player arrived: the bars of concurrent
 * players overlap however long their workers took to start (a process on a busy machine can take
 * seconds), and players that were not running at the same time could not pass the line at all.
 */
export async function together<K extends PlayerName>(startLine: Barrier, player: K, ...args: Parameters<(typeof players)[K]>): Promise<void> {
  if (!Object.hasOwn(players, player)) throw new TypeError(`together: no player named ${String(player)}; expected one of ${Object.keys(players).join(', ')}`);
  const play = players[player] as (...a: unknown[]) => Promise<void>;
  // A player that never comes up breaks the line for the others after a minute instead of hanging the program.
  await startLine.wait({ timeout: 60_000 });
  await play(...args);
}

// ── The GIL point: CPU-bound work. ─────────────────────────────────────────────────────────

function isPrime(n: number): boolean {
  if (n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

/** Numbers are dealt to the parts in blocks of this size, round-robin, so every part gets about the same work. */
const BLOCK = 10_000;

/**
 * Counts the primes below `limit` by trial division: pure CPU, no I/O, no sleeping.
 * With `parts > 1` it counts only its share (`part` of `parts`); the shares add up to the whole.
 */
export function countPrimes(limit: number, part = 0, parts = 1): number {
  if (!Number.isInteger(part) || !Number.isInteger(parts) || parts < 1 || part < 0 || part >= parts) {
    throw new RangeError(`countPrimes: part must be an integer in [0, parts), got part ${part} of ${parts}`);
  }
  let count = 0;
  for (let lo = part * BLOCK; lo < limit; lo += parts * BLOCK) {
    const hi = Math.min(lo + BLOCK, limit);
    for (let n = lo; n < hi; n++) if (isPrime(n)) count++;
  }
  return count;
}

/**
 * {@link countPrimes}, timed inside the thread: when the counting started and ended (epoch ms),
 * so the demo measures the computing itself, apart from the time it takes to start a worker.
 */
export function countPrimesTimed(limit: number, part = 0, parts = 1): { primes: number; start: number; end: number } {
  const start = now();
  const primes = countPrimes(limit, part, parts);
  return { primes, start, end: now() };
}

// ── E7: pipe.py. Each end of a Pipe is a Connection: send() an object, await recv() one. ─────

/** One step of proc1 or proc2, for the timeline: what it did and when (epoch ms). */
export interface PipeStep {
  readonly what: 'begin' | 'send' | 'recv' | 'received';
  readonly at: number;
  /** What was sent or received. */
  readonly obj?: unknown;
}

/** What proc1 or proc2 returns: its pid and its steps. The seed's functions return nothing. */
export interface PipeTrace {
  readonly pid: number;
  readonly steps: PipeStep[];
}

/** Records the steps of a task: `step('send', 'hello')` notes the moment. Starts with 'begin'. */
function recorder(): { steps: PipeStep[]; step(what: PipeStep['what'], obj?: unknown): void } {
  const steps: PipeStep[] = [{ what: 'begin', at: now() }];
  return { steps, step: (what, obj) => void steps.push(obj === undefined ? { what, at: now() } : { what, at: now(), obj }) };
}

/** `proc1(pipe)`: sends 'hello', then prints what it receives. */
export async function proc1(pipe: Connection): Promise<PipeTrace> {
  const { steps, step } = recorder();
  pipe.send('hello');
  step('send', 'hello');
  // print('proc1 rec:', pipe.recv()): recv() is async, and the timeline wants both its moments.
  step('recv');
  const rec = await pipe.recv();
  step('received', rec);
  console.log('proc1 rec:', rec);
  return { pid: process.pid, steps };
}

/** `proc2(pipe)`: prints what it receives, then sends 'hello, too'. */
export async function proc2(pipe: Connection): Promise<PipeTrace> {
  const { steps, step } = recorder();
  step('recv');
  const rec = await pipe.recv();
  step('received', rec);
  console.log('proc2 rec:', rec);
  pipe.send('hello, too');
  step('send', 'hello, too');
  return { pid: process.pid, steps };
}

// ── E8: queue.py. 10 processes put, 10 processes get, a Lock around the printing. ──────────

/** What inputQ or outputQ returns, for the check and the timeline. The seed's functions return nothing. */
export interface QueueStep {
  readonly pid: number;
  /** The item it put or got. */
  readonly info: string;
  /** When the task began, and when its put or get went through (epoch ms). */
  readonly start: number;
  readonly done: number;
}

/** `inputQ(queue)`: puts `"<pid>(put):<time>"`, waiting while the queue is full. */
export async function inputQ(queue: Queue<string>): Promise<QueueStep> {
  const start = now();
  // str(os.getpid()) + '(put):' + str(time.time()): time.time() is in seconds.
  const info = `${String(process.pid)}(put):${String(Date.now() / 1000)}`;
  await queue.put(info);
  return { pid: process.pid, info, start, done: now() };
}

/** `outputQ(queue, lock)`: gets one item, waiting while the queue is empty, and prints it under the lock. */
export async function outputQ(queue: Queue<string>, lock: Lock): Promise<QueueStep> {
  const start = now();
  const info = await queue.get();
  const done = now();
  await lock.acquire();
  console.log(`${String(process.pid)}(get):${info}`);
  lock.release();
  return { pid: process.pid, info, start, done };
}
