/**
 * What travels through Redis between a `RemotePool` and its workers, and the keys it uses.
 *
 * A call is one BullMQ job in the queue `name` (prefix `threadkit`), its data a small JSON object
 * ({@link JobData}) whose arguments are core's codec bytes in base64. Its answer does not go back
 * through BullMQ: the worker pushes a frame ({@link Frame}) onto the caller's own results list
 * before it completes the job, so an answer is never lost between the two, and the caller takes
 * the first frame of a call and drops any later one (a task that ran twice).
 *
 * Keys (all under `threadkit:{name}:`):
 * - BullMQ's own (`wait`, `active`, `id`, one hash per job…); a finished job is removed at once.
 * - `tk:r:{callerId}`: a caller's results list; it expires an hour after its last push.
 * - `tk:workers`: a hash, worker id → JSON of {@link WorkerInfo}, refreshed every second.
 * - `tk:cancel`: the pub/sub channel on which a caller names the job ids it gave up on.
 */
export const PREFIX = 'threadkit';
export const VERSION = 1;

/** Kinds of call. */
export const KIND_APPLY = 0;
export const KIND_MAP = 1;
export const KIND_STARMAP = 2;

/**
 * A job's data: one call, or several `apply` calls made in the same turn (a batch: one job, one
 * BullMQ round trip and one hop to the worker's threads for many calls). Each call is answered on
 * its own; a batch that runs again runs every call in it again (their callers already answered
 * drop the second answer).
 */
export interface JobData {
  /** Protocol version; a job without it is not threadkit's. */
  readonly tk: number;
  /** The caller's id: where the answers go. */
  readonly c: string;
  /** How many times the job may start (1: at most once). */
  readonly n: number;
  /** The calls. */
  readonly q: readonly JobCall[];
}

/**
 * A call in a job: its id (the caller's id, a dot, a number: also the job's id when it is alone),
 * task module name, export, KIND_APPLY (args) / KIND_MAP (items) / KIND_STARMAP (arrays of args),
 * the codec bytes of the args or items in base64, and 1 when the caller listens to its progress.
 */
export type JobCall = readonly [id: string, module: string, exportName: string, kind: number, args: string, progress: number];

/** The most calls in one job. */
export const MAX_BATCH = 64;

/** What a call id looks like: the caller's 12 hex digits, a dot, a number in base 36. */
export const CALL_ID = /^[0-9a-f]{12}\.[0-9a-z]{1,12}$/;

/** Frame statuses. */
export const ST_OK = 0;
/** The task threw: the payload is its error; the caller wraps it in a `TaskError`. */
export const ST_TASK_ERROR = 1;
/** A named error of threadkit's (TaskNotFoundError, WorkerExitError, TaskLostError, AbortError…): passed on as it is. */
export const ST_ERROR = 2;
/** Progress a running task reported (`reportProgress`); more frames follow. */
export const ST_PROGRESS = 3;

/**
 * An answer on the wire: `[status u8][id length u8][id, ASCII][run ms, f64][where length u16][where, UTF-8][payload]`,
 * `where` naming the worker (`host:pid/PoolWorker-2`).
 */
export interface Frame {
  readonly status: number;
  readonly id: string;
  readonly runMs: number;
  readonly where: string;
  readonly payload: Uint8Array;
}

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

export function writeFrame(status: number, id: string, runMs: number, where: string, payload: Uint8Array): Buffer {
  const w = utf8.encode(where);
  const out = Buffer.allocUnsafe(2 + id.length + 8 + 2 + w.length + payload.length);
  let at = 0;
  out[at++] = status;
  out[at++] = id.length;
  at += out.write(id, at, 'latin1');
  out.writeDoubleLE(runMs, at);
  at += 8;
  out.writeUInt16LE(w.length, at);
  at += 2;
  out.set(w, at);
  at += w.length;
  out.set(payload, at);
  return out;
}

export function readFrame(b: Buffer): Frame | undefined {
  if (b.length < 12) return undefined;
  let at = 0;
  const status = b[at++]!;
  const idLength = b[at++]!;
  if (b.length < 2 + idLength + 10) return undefined;
  const id = b.toString('latin1', at, at + idLength);
  at += idLength;
  const runMs = b.readDoubleLE(at);
  at += 8;
  const whereLength = b.readUInt16LE(at);
  at += 2;
  if (b.length < at + whereLength) return undefined;
  const where = utf8d.decode(b.subarray(at, at + whereLength));
  at += whereLength;
  return { status, id, runMs, where, payload: b.subarray(at) };
}

/** What a worker says of itself in the registry. */
export interface WorkerInfo {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  /** Its local pool's size and kind (inline: its concurrency, the tasks it runs at once on its own thread). */
  readonly size: number;
  readonly kind: 'thread' | 'process' | 'inline';
  /** Task modules it serves. */
  readonly modules: readonly string[];
  /** Tasks it is running now. */
  readonly busy: number;
  /** Tasks it has finished. */
  readonly done: number;
  /** When it last wrote this (ms since the epoch). */
  readonly seen: number;
}

/** A worker not heard of for this long is gone. */
export const WORKER_TTL = 5000;

export const keys = {
  results: (name: string, caller: string) => `${PREFIX}:${name}:tk:r:${caller}`,
  workers: (name: string) => `${PREFIX}:${name}:tk:workers`,
  cancel: (name: string) => `${PREFIX}:${name}:tk:cancel`,
  /** Set when a caller gives up on a call of a batch, for a worker that takes the batch later. */
  cancelled: (name: string, call: string) => `${PREFIX}:${name}:tk:x:${call}`,
  job: (name: string, id: string) => `${PREFIX}:${name}:${id}`,
};

/** How long a results list lives after its last push: a caller gone for longer is not coming back. */
export const RESULTS_TTL_S = 3600;

/** A queue name: what BullMQ and Redis keys accept. */
export function checkName(what: string, name: unknown): string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]{1,100}$/.test(name)) {
    throw new TypeError(
      `${what}: name must be 1–100 letters, digits, '_', '.' or '-' (it names the queue in Redis), got ${JSON.stringify(name) ?? String(name)}`,
    );
  }
  return name;
}
