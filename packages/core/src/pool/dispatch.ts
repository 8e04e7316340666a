/**
 * How queued tasks reach a worker: how many it may hold (its window, sized from how long its
 * tasks have been taking), and the batch that carries them, one message for many tasks, encoded
 * by core's codec (a chunk of numbers as one `Float64Array`), or by structured clone when the
 * codec cannot take something; a batch that cannot be sent fails only the tasks it cannot carry.
 */
import { explainCloneError, findUncloneable, isCloneFailure } from '../clone.js';
import { Encoder } from '../codec/index.js';
import { marshal } from '../handle.js';
import { MODE_APPLY, MODE_FLUSH_FIRST, MODE_MAP, MODE_NUMBERS, type TargetSpec } from '../protocol.js';
import type { Slot } from './slot.js';
import { SENT, type Task, type TaskQueue } from './task-queue.js';

/** ms of work a worker may hold beyond the task it runs, by the task's running estimate. */
const WINDOW_MS = 2;
/** A worker whose task should end within this many ms holds the next one too, so it never waits for it. */
const PREFETCH_MS = 50;
/** A task estimated to run this many ms or more is flagged so its worker sends what it holds first. */
const LONG_TASK_MS = 1;
/** The most tasks a worker holds. */
const MAX_WINDOW = 512;

// Tasks travel encoded by core's codec (several times faster than structured clone for arrays
// and objects).
const encoder = new Encoder();

/** What dispatching needs of its pool. */
export interface DispatchHost {
  readonly queue: TaskQueue;
  /** 0: unlimited. */
  readonly maxTasksPerChild: number;
  /** Settles a task that cannot be sent with why. */
  fail(task: Task, error: Error): void;
  /** Puts tasks that could not go with the others back in the queue. */
  requeue(tasks: Task[]): void;
}

/** Whether a chunk is all numbers (then it travels as a Float64Array, copied byte for byte). */
function allNumbers(items: readonly unknown[]): boolean {
  if (items.length < 16) return false;
  for (let i = 0; i < items.length; i++) if (typeof items[i] !== 'number') return false;
  return true;
}

/** Sends up to `share` queued tasks to `w` in one message, as many as its window has room for. */
export function dispatch(host: DispatchHost, w: Slot, share: number): void {
  // A worker without shared memory reports every task as it starts: topped up each time, it
  // would get one task per message. It is topped up once half its window has run instead.
  if (!w.ctl && w.pending > 1 && w.load >= WINDOW_MS / 2) return;
  const max = host.maxTasksPerChild;
  const queue = host.queue;
  const ctx = w.link.marshal;
  const taken: Task[] = [];
  const tasks: unknown[] = [];
  let defs: (number | TargetSpec)[] | undefined;
  let added = 0;
  let pending = w.pending;
  let load = w.load;
  while (
    taken.length < share &&
    queue.length > 0 &&
    pending < MAX_WINDOW &&
    (pending === 0 || load < WINDOW_MS || (pending === 1 && load < PREFETCH_MS)) &&
    (max === 0 || w.assigned + taken.length < max)
  ) {
    const task = queue.shift();
    if (!task) break;
    const rec = task.rec;
    // Unknown: count it as a full window, so each worker gets one until the first comes back.
    const est = rec.perItem < 0 ? WINDOW_MS : rec.perItem * task.count;
    task.est = est;
    added += est;
    load += est;
    pending++;
    const payload = task.payload;
    // A task that may take a while: what the worker has done before it is sent first, not after it.
    const flush = rec.perItem < 0 || est >= LONG_TASK_MS ? MODE_FLUSH_FIRST : 0;
    // In the order of the TASK_* offsets (protocol.ts).
    if (task.mode === MODE_MAP && allNumbers(payload as unknown[]))
      tasks.push(task.id, rec.index, MODE_MAP | MODE_NUMBERS | flush, new Float64Array(payload as number[]));
    else tasks.push(task.id, rec.index, task.mode | flush, marshal(payload, ctx));
    if (!w.known.has(rec.index)) {
      (defs ??= []).push(rec.index, rec.spec);
      w.known.add(rec.index);
    }
    taken.push(task);
  }
  if (taken.length === 0) return;
  let bytes: Uint8Array | undefined;
  let shared: readonly SharedArrayBuffer[] = [];
  try {
    bytes = encoder.encode(tasks, 'tasks').slice();
    shared = encoder.takeShared();
  } catch {
    // Something the codec does not take: structured clone tries, and says what fails.
  }
  try {
    w.link.post(
      bytes ? { t: 'tasks', targets: defs, bytes, ...(shared.length > 0 ? { shared } : {}) } : { t: 'tasks', targets: defs, tasks },
      bytes ? [bytes.buffer] : undefined,
    );
  } catch (error) {
    if (defs) for (let i = 0; i < defs.length; i += 2) w.known.delete(defs[i] as number);
    postFailed(host, taken, error);
    return;
  }
  for (const task of taken) {
    task.state = SENT;
    task.worker = w;
    w.window.push(task);
  }
  w.assigned += taken.length;
  w.load += added;
  w.busy();
}

/** A batch could not be sent: the tasks whose payload cannot be cloned fail with where the culprit is; the rest go back. */
function postFailed(host: DispatchHost, taken: Task[], error: unknown): void {
  const good: Task[] = [];
  let bad = 0;
  for (const task of taken) {
    const path = task.mode === MODE_APPLY ? 'args' : 'items';
    const found = isCloneFailure(error) ? findUncloneable(task.payload, path) : undefined;
    if (found || !isCloneFailure(error)) {
      bad++;
      const failure = isCloneFailure(error)
        ? explainCloneError(`Cannot ${task.mode === MODE_APPLY ? 'apply' : 'map'} ${task.rec.name}`, task.payload, path, error)
        : error instanceof Error
          ? error
          : new Error(String(error));
      host.fail(task, failure);
    } else good.push(task);
  }
  if (bad === 0) {
    // Nothing to blame alone: fail them all, each with the host's reason.
    for (const task of good)
      host.fail(task, explainCloneError(`Cannot run ${task.rec.name}`, task.payload, task.mode === MODE_APPLY ? 'args' : 'items', error));
    return;
  }
  if (good.length > 0) host.requeue(good);
}
