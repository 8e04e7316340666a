/**
 * The pool's side of one worker: its link, the window of tasks it holds (the one it runs and the
 * next few, in order), how much work they are estimated at, the timers that watch it (the grace
 * period of an aborted task that has not stopped, the idle timeout), and, once it is gone, which
 * of the tasks it held had started and why they failed.
 */
import { _clearTimeout, _setWeakTimeout, type TimerHandle } from '../_globals.js';
import { WorkerExitError } from '../errors.js';
import { CTL_TAKEN } from '../protocol.js';
import type { WorkerKind } from '../runtime.js';
import type { WorkerLink } from '../worker-link.js';
import { DONE, type Task } from './task-queue.js';

export class Slot {
  link!: WorkerLink;
  /** A thread's control block (shared memory); `undefined` for a process. */
  ctl: Int32Array | undefined;
  /** Tasks sent and not yet reported, in order, from `head`. */
  window: (Task | undefined)[] = [];
  head = 0;
  /** The estimated ms of the tasks in the window. */
  load = 0;
  assigned = 0;
  reported = 0;
  /** Without shared memory: how many of its tasks the worker said it had taken (run or skipped). */
  taken = 0;
  /** The targets it has been sent the definition of. */
  readonly known = new Set<number>();
  /** The targets it has said it loaded. */
  readonly loaded = new Set<number>();
  /** Told to close (retired, or the pool closing): it takes nothing more. */
  closing = false;
  /** Its first task was aborted and has not stopped: it takes nothing more until it does. */
  stuck = false;
  grace: TimerHandle | undefined;
  graceTask: Task | undefined;
  idle: TimerHandle | undefined;
  /** Terminated because this task did not stop in time. */
  killedFor: Task | undefined;
  uncaught: Error | undefined;
  runtimeError: Error | undefined;
  /** What the runtime said killed it after it started (e.g. out of memory). */
  crash: Error | undefined;
  requestedExit: number | undefined;

  constructor(
    readonly name: string,
    readonly kind: WorkerKind,
  ) {}

  get ready(): boolean {
    return this.link.ready;
  }

  get exited(): boolean {
    return this.link.exited;
  }

  get pending(): number {
    return this.window.length - this.head;
  }

  first(): Task | undefined {
    return this.window[this.head];
  }

  shift(): Task | undefined {
    const task = this.window[this.head];
    if (!task) return undefined;
    this.window[this.head++] = undefined;
    if (this.head === this.window.length) {
      this.window.length = 0;
      this.head = 0;
      this.load = 0;
    } else if (this.head >= 64 && this.head * 2 >= this.window.length) {
      this.window.splice(0, this.head);
      this.head = 0;
    }
    return task;
  }

  /** The tasks not yet reported, taken out of the window. */
  takeAll(): Task[] {
    const out = this.window.slice(this.head) as Task[];
    this.window = [];
    this.head = 0;
    this.load = 0;
    return out;
  }

  /** A count the worker reported of the tasks it has taken. */
  sawTaken(taken: number | undefined): void {
    if (taken !== undefined && taken > this.taken) this.taken = taken;
  }

  /** Tells it to take nothing more and end once its window is done. */
  retire(): void {
    this.closing = true;
    this.clearTimers();
    this.link.post({ t: 'close' });
  }

  clearTimers(): void {
    _clearTimeout(this.grace);
    _clearTimeout(this.idle);
    this.grace = undefined;
    this.idle = undefined;
  }

  /** It takes a task: it is no longer idle. */
  busy(): void {
    if (this.idle === undefined) return;
    _clearTimeout(this.idle);
    this.idle = undefined;
  }

  /** Starts its idle timeout, once: `retire` decides then whether it still is idle. */
  watchIdle(ms: number, retire: () => void): void {
    if (this.idle !== undefined) return;
    this.idle = _setWeakTimeout(() => {
      this.idle = undefined;
      retire();
    }, ms);
  }

  /**
   * A worker whose first task was aborted takes nothing more, and has `abortGrace` ms to finish
   * it before it is killed; once the head of its window is not such a task, it is free again.
   */
  checkHead(abortGrace: number): void {
    const head = this.first();
    if (head && head.state === DONE && !head.quiet) {
      this.stuck = true;
      // The grace period counts from when the worker can run the task: a starting worker is not late.
      if (this.ready && this.graceTask !== head) {
        _clearTimeout(this.grace);
        this.graceTask = head;
        this.grace = _setWeakTimeout(() => {
          if (this.first() !== head || this.exited) return;
          this.killedFor = head;
          this.link.handle.kill();
        }, abortGrace);
      }
    } else if (this.stuck || this.grace !== undefined) {
      this.stuck = false;
      _clearTimeout(this.grace);
      this.grace = undefined;
      this.graceTask = undefined;
    }
  }

  /**
   * Of the tasks it held when it died (`held`, in order), how many had started: the ones it took
   * and did not report. A thread counts them in shared memory; a process in its progress cell,
   * which outlives it, where the runtime gives one, else by a message before each start (and as
   * it ended); every message it sent has arrived by the time its exit is reported.
   */
  startedOf(held: readonly Task[]): number {
    const taken = this.ctl ? Atomics.load(this.ctl, CTL_TAKEN) : Math.max(this.taken, this.link.handle.progress?.() ?? 0);
    return Math.min(held.length, Math.max(0, taken - this.reported));
  }

  /**
   * Why a task that had started fails with this worker: `running` for the last one it started;
   * those before it had ended, and their results died with the worker before it sent them.
   */
  exitError(code: number | null, task: Task, running: boolean, abortGrace: number): Error {
    const Kind = this.kind === 'process' ? 'Process' : 'Thread';
    const name = task.rec.name;
    const exitCode = this.requestedExit ?? code ?? (this.killedFor ? -15 : 1);
    const how = this.killedFor
      ? `was terminated (${this.killedFor.rec.name} did not stop within ${abortGrace} ms of being aborted)`
      : this.requestedExit !== undefined
        ? `exited with code ${this.requestedExit}`
        : code === null
          ? 'ended'
          : `exited with code ${code}`;
    if (!running)
      return new WorkerExitError(`${Kind} ${this.name} ${how} after ${name} had run in it: its result was lost with the worker; it is not run again`, exitCode);
    if (this.uncaught) return this.uncaught;
    if (this.runtimeError) return this.runtimeError;
    if (this.crash) return new WorkerExitError(`${Kind} ${this.name} died while running ${name}: ${this.crash.message}`, exitCode, { cause: this.crash });
    // An exit the worker asked for came after it had sent every result; a kill from outside may
    // have come as the task returned, before its result went out.
    const lost =
      this.requestedExit === undefined && !this.killedFor ? ' (if it had just returned, its result was lost with the worker; it is not run again)' : '';
    return new WorkerExitError(`${Kind} ${this.name} ${how} while running ${name}${lost}`, exitCode);
  }
}
