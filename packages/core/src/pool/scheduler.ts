/**
 * The engine behind `Pool`: it owns the queue and the workers, hands tasks out (a share of the
 * queue to each worker with room, starting workers where there is work and too few, a few per
 * turn), takes their ends back, stops aborted tasks, and after a worker dies fails only what had
 * started in it and runs the rest elsewhere. It keeps the program alive while tasks are pending.
 */
import { _clearTimeout, _now, _setWeakTimeout, type TimerHandle } from '../_globals.js';
import { Decoder } from '../codec/index.js';
import { PoolClosedError, TaskError, TimeoutError, WorkerStartError, deserializeError } from '../errors.js';
import { allocate, keepAlive, type AbortSignalLike } from '../futex.js';
import {
  CANCEL_RING,
  CTL_CANCELS,
  CTL_RING,
  CTL_WORDS,
  DONE_ENDED,
  DONE_FAILED,
  DONE_SKIPPED,
  DONE_STARTED,
  DONE_STATUS,
  DONE_STRIDE,
  DONE_VALUE,
  MODE_MAP,
  MODE_STARMAP,
  type CancelReason,
  type FromWorker,
  type PoolFailure,
  type TaskMode,
} from '../protocol.js';
import type { Runtime } from '../runtime.js';
import { failureError } from '../thread.js';
import { WorkerLink } from '../worker-link.js';
import type { ChunkSubmitter } from './chunks.js';
import { dispatch, type DispatchHost } from './dispatch.js';
import { abortError, type PoolConfig } from './options.js';
import { Slot } from './slot.js';
import { Tally, type PoolStats } from './stats.js';
import { DONE, QUEUED, TargetTable, Task, TaskQueue, type TargetRec } from './task-queue.js';

/** Consecutive workers that die before they are ready, after which the pool gives up. */
const START_FAILURES = 3;
/** ms a turn may spend starting workers (at least one) before the rest wait for the next turn. */
const SPAWN_SLICE_MS = 8;

let workerCounter = 0;
// Results travel encoded by core's codec.
const decoder = new Decoder();
const resolved = Promise.resolve();

export type PoolState = 'running' | 'closing' | 'terminated' | 'broken';

export class Scheduler implements DispatchHost {
  readonly size: number;
  readonly maxTasksPerChild: number;
  readonly queue = new TaskQueue();
  readonly targets = new TargetTable();
  readonly tally = new Tally();
  readonly ended: Promise<void>;

  state: PoolState = 'running';
  #brokenBy: Error | undefined;
  #workers: Slot[] = [];
  #unsettled = 0;
  #ids = 0;
  #pumpScheduled = false;
  #startFailures = 0;
  /** Workers still to start ahead of demand (one per CPU, at most `size`, after the pool is created). */
  #prestart: number;
  /** Set while starting more workers waits for the next turn. */
  #growTimer: TimerHandle | undefined;
  /** Lets the program end again, while the pool keeps it alive. */
  #letGo: (() => void) | undefined;
  #markEnded!: () => void;
  #hasEnded = false;

  constructor(
    readonly config: PoolConfig,
    readonly runtime: Runtime,
  ) {
    this.size = config.size;
    this.maxTasksPerChild = config.maxTasksPerChild;
    this.ended = new Promise((resolve) => (this.#markEnded = resolve));
    // Starting a worker takes milliseconds of the caller's thread (tens for a process): none start
    // here; one per CPU start over the next turns, the rest when tasks need them.
    this.#prestart = Math.min(this.size, runtime.cpuCount());
    this.#growTimer = _setWeakTimeout(() => {
      this.#growTimer = undefined;
      this.#pump();
    }, 0);
  }

  // ------------------------------------------------------------------------------ submitting

  /** Throws why the pool takes no more tasks. */
  checkOpen(what: string): void {
    if (this.state === 'running') return;
    if (this.state === 'broken') throw new WorkerStartError(`${what}: the pool's workers cannot start: ${this.#brokenBy?.message}`, { cause: this.#brokenBy });
    throw new PoolClosedError(`${what}: the pool is closed (close() or terminate() was called); create a new Pool`);
  }

  /** Whether the queue has room (a bounded queue may be full; a pool that stopped running always "has room", and refuses). */
  hasRoom(): boolean {
    const max = this.config.maxQueue;
    return max === 0 || this.queue.length < max || this.state !== 'running';
  }

  whenRoom(): Promise<void> {
    return this.queue.whenRoom();
  }

  newTask(rec: TargetRec, mode: TaskMode, payload: unknown, count: number): Task {
    this.#ids = (this.#ids % 0x7fffffff) + 1;
    this.tally.submitted++;
    if (this.#unsettled++ === 0) this.#updateKeepAlive();
    return new Task(this.#ids, rec, mode, payload, count, _now());
  }

  enqueue(task: Task): void {
    this.queue.push(task);
    this.#schedulePump();
  }

  /** Where the chunks of a `map`, `starmap` or `imap` of `rec` go. */
  chunkOf(rec: TargetRec): ChunkSubmitter<Task> {
    return {
      size: this.size,
      checkOpen: (what) => this.checkOpen(what),
      hasRoom: () => this.hasRoom(),
      whenRoom: () => this.whenRoom(),
      startsClock: true,
      submit: (items, starmap, done, started) => {
        const task = this.newTask(rec, starmap ? MODE_STARMAP : MODE_MAP, items, items.length);
        task.onDone = done;
        task.onStart = started;
        this.enqueue(task);
        return task;
      },
      stop: (task, error, reason, quiet) => this.stop(task, error, reason, quiet),
    };
  }

  /** Aborts the task when the signal aborts, or when the timeout passes after it has started (see {@link Task.onStart}). */
  watch(task: Task, what: string, signal: AbortSignalLike | undefined, timeout: number | undefined): void {
    if (signal) {
      const onAbort = (): void => this.stop(task, abortError(what, signal), 'abort');
      task.signal = signal;
      task.onAbort = onAbort;
      signal.addEventListener('abort', onAbort, { once: true });
    }
    if (timeout !== undefined) {
      task.onStart = () => {
        task.timer = _setWeakTimeout(
          () =>
            this.stop(task, new TimeoutError(`${what}: it did not finish within ${timeout} ms of starting on ${task.worker?.name ?? 'its worker'}`), 'timeout'),
          timeout,
        );
      };
    }
  }

  // ------------------------------------------------------------------------------ ending tasks

  settle(task: Task, ok: boolean, value: unknown): void {
    task.state = DONE;
    task.payload = undefined;
    if (task.onAbort) task.signal!.removeEventListener('abort', task.onAbort);
    if (task.timer !== undefined) _clearTimeout(task.timer);
    if (--this.#unsettled === 0) this.#updateKeepAlive();
    if (task.onDone) task.onDone(ok, value);
    else if (ok) task.resolve!(value);
    else task.reject!(value);
  }

  fail(task: Task, error: Error): void {
    this.tally.failed++;
    this.settle(task, false, error);
  }

  requeue(tasks: Task[]): void {
    this.queue.requeue(tasks);
    this.#schedulePump();
  }

  /**
   * Ends a task early with `error`. Queued, it never runs. Sent to a worker, the worker skips it,
   * or (running) its `taskSignal()` aborts; unless `quiet`, a worker whose running task does not
   * stop within `abortGrace` is terminated.
   */
  stop(task: Task, error: Error, reason: CancelReason, quiet = false): void {
    if (task.state === DONE) return;
    if (!quiet) {
      if (reason === 'timeout') this.tally.timedOut++;
      else this.tally.aborted++;
    }
    if (task.state === QUEUED) {
      this.queue.dropped();
      this.settle(task, false, error);
      return;
    }
    const w = task.worker!;
    task.quiet = quiet;
    this.settle(task, false, error);
    if (w.exited) return;
    const ctl = w.ctl;
    if (ctl) {
      // Shared memory first: the worker sees it before its next task, and a CPU-bound task sees it at once.
      const n = Atomics.load(ctl, CTL_CANCELS);
      const at = CTL_RING + 2 * (n % CANCEL_RING);
      Atomics.store(ctl, at, task.id);
      Atomics.store(ctl, at + 1, reason === 'timeout' ? 2 : 1);
      Atomics.store(ctl, CTL_CANCELS, n + 1);
    }
    try {
      w.link.post({ t: 'cancel', id: task.id, reason, message: error.message });
    } catch {
      // A worker on its way out: it will not run the task either way.
    }
    w.checkHead(this.config.abortGrace);
  }

  // ------------------------------------------------------------------------------ ending the pool

  close(): Promise<void> {
    if (this.state === 'running') {
      this.state = 'closing';
      this.#pump();
      this.#updateKeepAlive();
    }
    return this.ended;
  }

  terminate(): Promise<void> {
    if (this.state === 'terminated') return this.ended;
    this.state = 'terminated';
    _clearTimeout(this.#growTimer);
    this.#growTimer = undefined;
    const error = (name: string) => new PoolClosedError(`Cannot finish ${name}: the pool was terminated`);
    for (const task of this.queue.drain()) this.settle(task, false, error(task.rec.name));
    // A copy: a runtime may report a worker's exit from inside terminate(), which takes it off the list.
    for (const w of [...this.#workers]) {
      for (let i = w.head; i < w.window.length; i++) {
        const task = w.window[i];
        if (task && task.state !== DONE) this.settle(task, false, error(task.rec.name));
      }
      w.clearTimers();
      w.closing = true;
      w.link.handle.terminate();
    }
    this.#updateKeepAlive();
    this.#checkEnded();
    return this.ended;
  }

  /** Workers keep failing to start: every task not yet ended, and every later one, fails with why. */
  #break(error: Error): void {
    if (this.state === 'terminated' || this.state === 'broken') return;
    this.state = 'broken';
    this.#brokenBy = error;
    for (const task of this.queue.drain())
      this.settle(task, false, new WorkerStartError(`Cannot run ${task.rec.name}: the pool's workers cannot start: ${error.message}`, { cause: error }));
    this.#checkEnded();
  }

  stats(): PoolStats {
    let busy = 0;
    let idle = 0;
    let starting = 0;
    let running = 0;
    for (const w of this.#workers) {
      running += w.pending;
      if (w.closing) continue;
      if (!w.ready) starting++;
      else if (w.pending > 0) busy++;
      else idle++;
    }
    const t = this.tally;
    return {
      size: this.size,
      workers: busy + idle + starting,
      busy,
      idle,
      starting,
      queued: this.queue.length,
      running,
      submitted: t.submitted,
      completed: t.completed,
      failed: t.failed,
      aborted: t.aborted,
      timedOut: t.timedOut,
      crashed: t.crashed,
      runTime: t.runTimes.percentiles(),
      waitTime: t.waitTimes.percentiles(),
    };
  }

  // ------------------------------------------------------------------------------ workers

  #spawn(): Slot {
    const { kind, name, resourceLimits } = this.config;
    const w = new Slot(`${name}-${++workerCounter}`, kind);
    w.link = new WorkerLink(
      this.runtime,
      { kind, name: w.name, daemon: true, resourceLimits, progress: kind === 'process' },
      {
        message: (message) => this.#onMessage(w, message),
        ready: () => {
          this.#startFailures = 0;
          w.checkHead(this.config.abortGrace);
          this.#started(w);
        },
        error: (error) => this.#onRuntimeError(w, error),
        exit: (code) => this.#onExit(w, code),
      },
    );
    w.ctl = w.link.shared ? new Int32Array(allocate(CTL_WORDS * 4, true)) : undefined;
    w.link.post({ t: 'pool', control: w.ctl });
    this.#workers.push(w);
    return w;
  }

  /** Starts a worker; a runtime that refuses breaks the pool. */
  #trySpawn(): Slot | undefined {
    try {
      return this.#spawn();
    } catch (error) {
      this.#break(new WorkerStartError(`Cannot start a worker for the pool: ${error instanceof Error ? error.message : String(error)}`, { cause: error }));
      return undefined;
    }
  }

  #onMessage(w: Slot, message: FromWorker): void {
    switch (message.t) {
      case 'done':
        w.sawTaken(message.taken);
        if (message.loaded !== undefined) w.loaded.add(message.loaded);
        if (message.bytes) this.#onDone(w, decoder.decode(message.bytes) as unknown[]);
        else if (message.r) this.#onDone(w, message.r);
        this.#started(w);
        return;
      case 'uncaught':
        w.uncaught ??= new TaskError(deserializeError(message.error), w.name);
        w.sawTaken(message.taken);
        return;
      case 'exit':
        w.requestedExit = message.code;
        w.sawTaken(message.taken);
        return;
    }
  }

  /**
   * The task next to run on `w`, once `w` has started and loaded its target, starts its clock
   * (see {@link Task.onStart}): a task's timeout counts neither its wait in the queue nor its
   * worker's start nor the import of its module. Results come in batches, so this may be a little
   * after it started running, never before.
   */
  #started(w: Slot): void {
    if (!w.ready || w.exited) return;
    const head = w.first();
    if (!head || head.state === DONE || !head.onStart || !w.loaded.has(head.rec.index)) return;
    const start = head.onStart;
    head.onStart = undefined;
    start();
  }

  #onRuntimeError(w: Slot, error: Error): void {
    // Out of memory (under resourceLimits) is the worker's death, not the task's error: its task
    // ends as the worker's, with the runtime's error as the cause. Anything else the runtime
    // reports escaped the task, as a Thread reports it.
    const what = w.link.explain(error, w.name);
    if (what.kind === 'crash') w.crash ??= what.error;
    else w.runtimeError ??= what.error;
  }

  #onDone(w: Slot, r: readonly unknown[]): void {
    for (let i = 0; i < r.length; i += DONE_STRIDE) {
      const task = w.shift();
      if (!task) break;
      w.reported++;
      w.load -= task.est;
      const status = r[i + DONE_STATUS];
      if (status === DONE_SKIPPED) {
        // Skipped without being cancelled (it cannot happen, but nothing may be lost): run it elsewhere.
        if (task.state !== DONE) this.queue.requeue([task]);
        continue;
      }
      const started = r[i + DONE_STARTED] as number;
      const run = (r[i + DONE_ENDED] as number) - started;
      const rec = task.rec;
      const per = run / task.count;
      rec.perItem = rec.perItem < 0 ? per : rec.perItem * 0.7 + per * 0.3;
      if (task.state === DONE) continue;
      this.tally.runTimes.add(run);
      this.tally.waitTimes.add(started - task.submitted);
      if (status !== DONE_FAILED) {
        this.tally.completed++;
        this.settle(task, true, r[i + DONE_VALUE]);
      } else {
        this.fail(task, failureError(r[i + DONE_VALUE] as PoolFailure, rec.name, rec.module, w.name));
      }
    }
    w.checkHead(this.config.abortGrace);
    if (this.maxTasksPerChild > 0 && w.assigned >= this.maxTasksPerChild && w.pending === 0 && !w.closing) {
      // Python's maxtasksperchild: a fresh worker takes over.
      w.retire();
      if (this.state === 'running' || this.queue.length > 0) this.#trySpawn();
    }
    // Once per turn, not per message: a process's results come one message per task.
    this.#schedulePump();
  }

  #onExit(w: Slot, code: number | null): void {
    w.clearTimers();
    const at = this.#workers.indexOf(w);
    if (at >= 0) this.#workers.splice(at, 1);
    const held = w.takeAll();
    const started = w.startedOf(held);
    const again: Task[] = [];
    let blamed = false;
    for (let i = 0; i < held.length; i++) {
      const task = held[i]!;
      if (task.state === DONE) continue;
      if (i < started) {
        this.fail(task, w.exitError(code, task, i === started - 1, this.config.abortGrace));
        blamed = true;
      } else again.push(task);
    }
    if (again.length > 0) this.queue.requeue(again);
    // An error that escaped after the worker's tasks had ended (a stray timer) is nobody's result: it is printed, not lost.
    const escaped = w.uncaught ?? (w.runtimeError instanceof TaskError ? w.runtimeError : undefined);
    if (escaped && !blamed) this.runtime.reportError(`Exception in ${w.name}:\n${(escaped.cause as Error | undefined)?.stack ?? escaped.message}`);
    w.link.cleanUp(`${this.config.kind === 'process' ? 'Process' : 'Thread'} ${w.name} has ended`);
    if (!w.closing) {
      this.tally.crashed++;
      if (!w.ready && !w.killedFor) {
        const error = w.runtimeError ?? new WorkerStartError(`Cannot start ${w.name}: its worker ended (exit code ${code}) before it was ready`);
        if (++this.#startFailures >= START_FAILURES) this.#break(error);
      }
      // Replaced at once, as Python's pool does, while the pool runs or has tasks left.
      if (this.state === 'running' || (this.state === 'closing' && this.queue.length > 0)) this.#trySpawn();
    }
    this.#pump();
    this.#checkEnded();
  }

  // ------------------------------------------------------------------------------ dispatch

  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    void resolved.then(() => this.#pump());
  }

  /** Hands queued tasks to workers with room; starts workers where there is work and too few; retires idle ones. */
  #pump(): void {
    this.#pumpScheduled = false;
    const state = this.state;
    if (state === 'terminated' || state === 'broken') return;
    if (this.queue.length > 0) {
      let live = 0;
      for (const w of this.#workers) if (!w.closing) live++;
      // While the pool is below its size, a task does not wait behind another: it goes to a worker
      // holding nothing, or to one started for it. The workers not yet started count in the share.
      const room = Math.max(0, this.size - live);
      let eligible = 0;
      for (const w of this.#workers) if (this.#canTake(w) && (room === 0 || w.pending === 0)) eligible++;
      if (eligible > 0) {
        const share = Math.ceil(this.queue.length / (eligible + room));
        for (const w of [...this.#workers]) {
          if (this.queue.length === 0) break;
          if (this.#canTake(w) && (room === 0 || w.pending === 0)) {
            dispatch(this, w, share);
            this.#started(w);
          }
        }
      }
    }
    this.#grow();
    const idleTimeout = this.config.idleTimeout;
    if (this.queue.length === 0) {
      for (const w of [...this.#workers]) {
        if (w.pending > 0 || w.closing) continue;
        if (state === 'closing') w.retire();
        else if (idleTimeout !== undefined) {
          w.watchIdle(idleTimeout, () => {
            if (w.pending === 0 && !w.closing && this.state === 'running' && this.queue.length === 0) w.retire();
          });
        }
      }
    }
    this.#checkEnded();
  }

  /**
   * Starts workers, up to `size`: the first few ahead of demand, then one for each task no
   * worker has room for (it takes that task at once). A turn spends at most SPAWN_SLICE_MS on
   * it (at least one worker), so a big pool never holds up its caller; the rest start next turn.
   */
  #grow(): void {
    if (this.#growTimer !== undefined) return;
    if (this.state !== 'running' && !(this.state === 'closing' && this.queue.length > 0)) return;
    let live = 0;
    for (const w of this.#workers) if (!w.closing) live++;
    const began = _now();
    let spawned = 0;
    while (live < this.size && (this.queue.length > 0 || this.#prestart > 0)) {
      if (spawned > 0 && _now() - began >= SPAWN_SLICE_MS) {
        this.#growTimer = _setWeakTimeout(() => {
          this.#growTimer = undefined;
          this.#pump();
        }, 0);
        return;
      }
      const w = this.#trySpawn();
      if (!w) return;
      spawned++;
      if (this.#prestart > 0) this.#prestart--;
      if (this.queue.length > 0) dispatch(this, w, Math.ceil(this.queue.length / (this.size - live)));
      this.#started(w);
      live++;
    }
  }

  #canTake(w: Slot): boolean {
    return !w.closing && !w.stuck && !w.exited && (this.maxTasksPerChild === 0 || w.assigned < this.maxTasksPerChild);
  }

  // ------------------------------------------------------------------------------ liveness

  /** The program stays alive while tasks are pending or the pool is ending; idle workers hold nothing. */
  #updateKeepAlive(): void {
    const want = this.#unsettled > 0 || (this.state !== 'running' && !this.#hasEnded && this.#workers.length > 0);
    if (want && this.#letGo === undefined) this.#letGo = keepAlive();
    else if (!want && this.#letGo !== undefined) {
      this.#letGo();
      this.#letGo = undefined;
    }
  }

  #checkEnded(): void {
    // Tasks queued before any worker started (close() right after submitting) still run first.
    if (this.#hasEnded || this.state === 'running' || this.#workers.length > 0 || this.queue.length > 0) return;
    this.#hasEnded = true;
    this.#updateKeepAlive();
    this.#markEnded();
  }
}
