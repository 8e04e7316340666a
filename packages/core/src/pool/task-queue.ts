/**
 * A pool's tasks before they reach a worker: the task record, the table of targets (each gets a
 * number on the wire and a running estimate of how long it takes), and the queue, first in first
 * out, with tasks that come back (their worker died before starting them) put back at its front.
 */
import type { TimerHandle } from '../_globals.js';
import type { AbortSignalLike } from '../futex.js';
import type { TargetSpec, TaskMode } from '../protocol.js';
import { targetName, targetSpec } from '../task.js';
import type { Slot } from './slot.js';

/** Waiting in the pool's queue. */
export const QUEUED = 0;
/** Held by a worker: running, or next in its window. */
export const SENT = 1;
/** Settled: resolved, rejected, aborted or timed out. It never settles again. */
export const DONE = 2;

/** A target as the pool knows it: its number on the wire and how long it takes. */
export interface TargetRec {
  readonly index: number;
  readonly spec: TargetSpec;
  readonly name: string;
  readonly module: string | undefined;
  /** ms per item, a moving average; -1 until known. */
  perItem: number;
}

/** A task: an `apply`, or one chunk of a `map` or `imap`. */
export class Task {
  state = QUEUED;
  /** The worker holding it while SENT. */
  worker: Slot | undefined = undefined;
  /** The running estimate this task added to its worker's load. */
  est = 0;
  /** How a chunk's end is told (`map`, `imap`); else `resolve`/`reject`. */
  onDone: ((ok: boolean, value: unknown) => void) | undefined = undefined;
  resolve: ((value: unknown) => void) | undefined = undefined;
  reject: ((error: unknown) => void) | undefined = undefined;
  signal: AbortSignalLike | undefined = undefined;
  onAbort: (() => void) | undefined = undefined;
  timer: TimerHandle | undefined = undefined;
  /**
   * Called once, when it starts on a worker: the next to run on a started worker that has loaded
   * its target (as far as the pool has heard); where a `timeout` starts counting.
   */
  onStart: (() => void) | undefined = undefined;
  /** Cancelled without a grace period: it may finish, nobody waits for it. */
  quiet = false;

  constructor(
    readonly id: number,
    readonly rec: TargetRec,
    readonly mode: TaskMode,
    public payload: unknown,
    /** Items in it: 1 for an `apply`. */
    readonly count: number,
    /** When it was submitted, ms. */
    readonly submitted: number,
  ) {}
}

/** The targets a pool has seen, each numbered once for the wire. */
export class TargetTable {
  readonly #recs: TargetRec[] = [];
  readonly #byObject = new WeakMap<object, TargetRec>();
  readonly #byKey = new Map<string, TargetRec>();

  /** The record of `target`; throws (`what` first) when it is not a target. */
  get(target: unknown, what: string): TargetRec {
    if ((typeof target === 'object' && target !== null) || typeof target === 'function') {
      const hit = this.#byObject.get(target);
      if (hit) return hit;
    }
    const spec = targetSpec(target, what);
    const key = spec.kind === 'module' ? `m${spec.url}#${spec.name}` : `s${spec.source}`;
    let rec = this.#byKey.get(key);
    if (!rec) {
      rec = { index: this.#recs.length, spec, name: targetName(target), module: spec.kind === 'module' ? spec.url : undefined, perItem: -1 };
      this.#recs.push(rec);
      this.#byKey.set(key, rec);
    }
    this.#byObject.set(target as object, rec);
    return rec;
  }
}

/**
 * The tasks waiting for a worker, oldest first. A task settled while queued (aborted, timed out)
 * stays in the array until it is reached, but no longer counts in {@link length}.
 */
export class TaskQueue {
  #items: (Task | undefined)[] = [];
  #head = 0;
  #length = 0;
  #roomWaiters: (() => void)[] = [];

  /** Tasks waiting, settled ones not counted. */
  get length(): number {
    return this.#length;
  }

  push(task: Task): void {
    this.#items.push(task);
    this.#length++;
  }

  /** Puts tasks back at the front, in their order (their worker died before starting them). */
  requeue(tasks: readonly Task[]): void {
    for (const task of tasks) {
      task.state = QUEUED;
      task.worker = undefined;
    }
    this.#items.splice(this.#head, 0, ...tasks);
    this.#length += tasks.length;
  }

  /** The oldest task still waiting, taken out; `undefined` when none is. */
  shift(): Task | undefined {
    const q = this.#items;
    while (this.#head < q.length) {
      const task = q[this.#head];
      q[this.#head++] = undefined;
      if (task && task.state === QUEUED) {
        this.#length--;
        if (this.#head >= 1024 && this.#head * 2 >= q.length) {
          q.splice(0, this.#head);
          this.#head = 0;
        }
        if (this.#roomWaiters.length > 0) this.wakeRoomWaiters();
        return task;
      }
    }
    q.length = 0;
    this.#head = 0;
    return undefined;
  }

  /** A queued task was settled where it waits (aborted, timed out): it no longer counts. */
  dropped(): void {
    this.#length--;
    if (this.#roomWaiters.length > 0) this.wakeRoomWaiters();
  }

  /** Takes out every task still waiting, oldest first. */
  drain(): Task[] {
    const out: Task[] = [];
    for (let i = this.#head; i < this.#items.length; i++) {
      const task = this.#items[i];
      if (task && task.state === QUEUED) out.push(task);
    }
    this.#items = [];
    this.#head = 0;
    this.#length = 0;
    this.wakeRoomWaiters();
    return out;
  }

  /** Resolves once a task has left the queue (or {@link wakeRoomWaiters} is called: the caller checks again). */
  whenRoom(): Promise<void> {
    return new Promise((resolve) => this.#roomWaiters.push(resolve));
  }

  /** Wakes everyone waiting in {@link whenRoom}. */
  wakeRoomWaiters(): void {
    const waiters = this.#roomWaiters;
    this.#roomWaiters = [];
    for (const wake of waiters) wake();
  }
}
