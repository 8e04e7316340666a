/**
 * The task module of the cluster example (cluster.ts): what the `threadkit-worker` processes run,
 * each from a folder of its own (an "other machine") holding a copy of this file and of tasks.ts.
 * The workers know it by the name `cluster` (`--tasks cluster=./cluster-tasks.js`); the program
 * names it with `remoteTasks<typeof import('./cluster-tasks.ts')>('cluster')`.
 *
 * Every task returns where it ran (host, pid) and which attempt it was, from `taskContext()`:
 * a track whose worker was killed runs again on another worker as attempt 2.
 *
 * E8's producers and consumers share a `RemoteQueue` and a `RemoteLock`: core's `Queue` and
 * `Lock` across machines, found by their names in Redis.
 */
import { threadId } from 'node:worker_threads';
import { RemoteLock, RemoteQueue, reportProgress, taskContext } from '@threadkit/redis';
import { ctime, now, sleep } from './tasks.ts';

/** Where a task ran, from `taskContext()`. */
export interface RanOn {
  readonly host: string;
  readonly pid: number;
  readonly attempt: number;
  readonly callId: string;
}

function ranOn(): RanOn {
  const { worker, attempt, callId } = taskContext();
  return { host: worker.host, pid: worker.pid, attempt, callId };
}

/** Where it ran: the program's first call, which connects its RemotePool. */
export function hello(): RanOn {
  return ranOn();
}

/**
 * Holds its thread for `ms`, then says which thread it was: 20 of these at once bring up the
 * workers' 20 threads (each loads this module and `@threadkit/redis` first), so the examples'
 * timelines show the tracks and the queue rather than threads starting.
 */
export async function warmUp(ms: number): Promise<RanOn & { thread: number }> {
  await sleep(1, ms);
  return { ...ranOn(), thread: threadId };
}

// ── E4: the super player, on other machines ────────────────────────────────────────────────

/** What `superPlayer` reports when each play starts (the caller's `onProgress`), and returns at the end. */
export interface PlayReport extends RanOn {
  readonly file: string;
  /** 1 or 2: which of the two plays. */
  readonly play: number;
  /** When the play (progress) or the whole track (result) started, and when it ended; epoch ms. */
  readonly start: number;
  readonly end?: number;
}

/**
 * `super_player(file_, time)` on a worker: plays `file` twice, `time` seed seconds each, printing
 * the seed's line (on the worker's stdout, which the program shows with the machine's name). It
 * reports each play's start to the caller as it happens, so the caller knows where a track is
 * playing before it ends, and what a killed worker had played.
 */
export async function superPlayer(file: string, time: number, scaleMs: number): Promise<PlayReport> {
  const where = ranOn();
  const start = now();
  for (let play = 1; play <= 2; play++) {
    console.log(`Start playing: ${file} ${ctime()} (attempt ${where.attempt})`);
    reportProgress({ ...where, file, play, start: now() } satisfies PlayReport);
    await sleep(time, scaleMs);
  }
  return { ...where, file, play: 2, start, end: now() };
}

// ── E8: queue.py, across machines ──────────────────────────────────────────────────────────

/** What inputQ or outputQ returns, for the check and the timeline. */
export interface QueueStep extends RanOn {
  /** Which producer or consumer (1–10). */
  readonly n: number;
  /** The item it put or got. */
  readonly info: string;
  /** When the task began, and when its put or get went through; epoch ms. */
  readonly start: number;
  readonly done: number;
}

/** A wait in E8 gives up after a minute rather than hang the program. */
const E8_WAIT = 60_000;

/**
 * `inputQ(queue)`: puts `"<pid>#<n>(put):<time>"`, waiting while the queue holds 3 items. The
 * seed's item is `"<pid>(put):<time>"`; here several producers share a worker process (its
 * threads), so the producer's number follows the pid. The queue is found by its name in Redis
 * (`REDIS_URL`, which the program gives its workers).
 */
export async function inputQ(queueName: string, n: number): Promise<QueueStep> {
  const queue = new RemoteQueue<string>(queueName, { maxsize: 3 });
  try {
    const start = now();
    const info = `${process.pid}#${n}(put):${Date.now() / 1000}`;
    await queue.put(info, { timeout: E8_WAIT });
    return { ...ranOn(), n, info, start, done: now() };
  } finally {
    await queue.disconnect();
  }
}

/** `outputQ(queue, lock)`: gets one item, waiting while the queue is empty, and prints it under the lock. */
export async function outputQ(queueName: string, lockName: string, n: number): Promise<QueueStep> {
  const queue = new RemoteQueue<string>(queueName, { maxsize: 3 });
  const lock = new RemoteLock(lockName);
  try {
    const start = now();
    const info = await queue.get({ timeout: E8_WAIT });
    const done = now();
    if (!(await lock.acquire({ timeout: E8_WAIT }))) throw new Error(`outputQ #${n}: the lock stayed held for ${E8_WAIT} ms`);
    try {
      console.log(`${process.pid}#${n}(get):${info}`);
    } finally {
      await lock.release();
    }
    return { ...ranOn(), n, info, start, done };
  } finally {
    await Promise.all([queue.disconnect(), lock.disconnect()]);
  }
}
