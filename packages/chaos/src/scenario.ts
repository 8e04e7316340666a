/**
 * What every scenario gets from the program that runs it: its seeded generator, the worker kind
 * and transport under test, a directory for the workers' logs, and the bookkeeping behind the
 * end-of-run checks (violations, pids, calls that must settle).
 */
import { Process, Thread, type AnyFunction, type BaseThread, type ThreadOptions } from '@threadkit/node';
import type { Rng } from './rng.js';

/**
 * How workers and shared objects are made: threads on shared memory, threads on messages, OS
 * processes, or each worker a thread or a process at random (sharing the same objects).
 */
export type Variant = 'thread' | 'thread-message' | 'process' | 'mixed';

export const VARIANTS: readonly Variant[] = ['thread', 'thread-message', 'process', 'mixed'];

/** What a scenario's program prints last, for the harness. */
export interface Report {
  readonly violations: string[];
  readonly notes: string[];
  readonly counts: Record<string, number>;
}

/** Bounds for things that must happen. Generous: they only turn a hang into a report. */
export const BOUND = {
  /** A call that must settle (a join, a get after close, a task). */
  settle: 60_000,
  /** A condition polled for (a handshake line in a log, a permit coming back). */
  poll: 30_000,
  /** Either, once a wait in this run has already failed: the run has failed; this keeps a hang from costing minutes. */
  afterFailure: 5_000,
} as const;

export const TIMED_OUT: unique symbol = Symbol('timed out');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A worker the scenario started, with what it is for. */
export interface Started {
  readonly worker: BaseThread;
  readonly label: string;
}

export class Ctx {
  readonly violations: string[] = [];
  readonly notes: string[] = [];
  readonly counts: Record<string, number> = {};
  readonly started: Started[] = [];
  #waitFailed = false;

  constructor(
    readonly rng: Rng,
    readonly variant: Variant,
    /** Where workers write their logs. */
    readonly dir: string,
  ) {}

  /** The kind of worker under test (a mixed run's Pool, which has one kind, uses threads). */
  get kind(): 'thread' | 'process' {
    return this.variant === 'process' ? 'process' : 'thread';
  }

  /** Whether `w` reaches the main thread's objects by messages (so each call it made was confirmed by the owner). */
  messagesFor(w: BaseThread): boolean {
    return this.variant === 'thread-message' || w instanceof Process;
  }

  /** How to stop `w` at random: a thread is terminated; a process terminated (SIGTERM) or killed (SIGKILL). */
  how(w: BaseThread): 'terminate' | 'kill' {
    return w instanceof Process && this.rng.chance(0.5) ? 'kill' : 'terminate';
  }

  fail(message: string): void {
    this.violations.push(message);
  }

  check(condition: unknown, message: string): boolean {
    if (!condition) this.fail(message);
    return !!condition;
  }

  note(message: string): void {
    this.notes.push(message);
  }

  count(key: string, n = 1): void {
    this.counts[key] = (this.counts[key] ?? 0) + n;
  }

  /** Tells the harness about a process this run started, at once (so it can check the pid even if the run hangs). */
  pid(pid: number | undefined, what: string): void {
    if (pid === undefined) return;
    process.stdout.write(`CHAOS-PID ${pid} ${what}\n`);
  }

  /** Starts a worker of the kind under test (in a mixed run, either) and records its pid. */
  spawn<F extends (...args: never[]) => unknown>(label: string, options: ThreadOptions<F & AnyFunction>): BaseThread {
    const kind = this.variant === 'mixed' ? this.rng.pick(['thread', 'process'] as const) : this.kind;
    const w = kind === 'process' ? new Process(options) : new Thread(options);
    w.start();
    this.started.push({ worker: w, label });
    if (w instanceof Process) this.pid(w.pid, label);
    return w;
  }

  /** Stops a worker: a thread is terminated; a process is terminated or killed, as `how` says. */
  stop(w: BaseThread, how: 'terminate' | 'kill'): Promise<void> {
    return how === 'kill' && w instanceof Process ? w.kill() : w.terminate();
  }

  /** Awaits `promise` for at most `ms` (see `until`); past that, records that `what` never settled and resolves TIMED_OUT. */
  async within<T>(promise: Promise<T>, what: string, ms: number = BOUND.settle): Promise<T | typeof TIMED_OUT> {
    if (this.#waitFailed) ms = Math.min(ms, BOUND.afterFailure);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMED_OUT), ms);
    });
    try {
      const result = await Promise.race([promise, timeout]);
      if (result === TIMED_OUT) {
        this.#waitFailed = true;
        this.fail(`${what}: did not settle within ${ms} ms`);
      }
      return result;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Polls `check` until it holds or `ms` pass; records a violation naming `what` if it never does.
   * Once a wait has failed the run has failed, so later ones wait only `BOUND.afterFailure`.
   */
  async until(what: string, check: () => boolean | Promise<boolean>, ms: number = BOUND.poll): Promise<boolean> {
    if (this.#waitFailed) ms = Math.min(ms, BOUND.afterFailure);
    const end = Date.now() + ms;
    for (;;) {
      if (await check()) return true;
      if (Date.now() >= end) {
        this.#waitFailed = true;
        this.fail(`${what}: still not so after ${ms} ms`);
        return false;
      }
      await sleep(10);
    }
  }

  /** Sleeps: only ever to pick a random moment, never to wait for something to happen. */
  sleep(ms: number): Promise<void> {
    return sleep(ms);
  }

  /** Joins every worker started (each within the bound) and checks that none is left alive. */
  async joinAll(): Promise<void> {
    for (const { worker, label } of this.started) {
      await this.within(worker.join(), `join ${label}`);
      // Reading it observes the end, so nothing is reported to stderr as unobserved.
      void worker.error;
    }
  }

  report(): Report {
    return { violations: this.violations, notes: this.notes, counts: this.counts };
  }
}
