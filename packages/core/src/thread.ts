/**
 * `Thread` and `Process`: Python's lifecycle (start once, join with a timeout, isAlive,
 * exit codes, daemon, subclassing with `run()`), over whatever worker the runtime gives.
 */
import {
  DataCloneError,
  InvalidStateError,
  TaskError,
  TaskNotFoundError,
  TimeoutError,
  WorkerExitError,
  WorkerStartError,
  deserializeError,
  reviveError,
} from './errors.js';
import { explainCloneError, findSharedMemory, isCloneFailure, sharedMemoryError } from './clone.js';
import { _clearTimeout, _setTimeout, type TimerHandle } from './_globals.js';
import { keepAlive } from './futex.js';
import type { FailureMessage, FromWorker, PoolFailure, ResultMessage, TargetSpec } from './protocol.js';
import { getRuntime, type Runtime, type WorkerKind } from './runtime.js';
import { marshal } from './handle.js';
import { WorkerLink } from './worker-link.js';
import { targetName, targetSpec, type AnyFunction, type Target } from './task.js';
import { checkOptionNames, checkTimeout, describe } from './validate.js';

const THREAD_OPTIONS = ['target', 'args', 'name', 'daemon'];

/** Options of `new Thread(...)` and `new Process(...)`, as Python's `Thread(target=, args=, name=, daemon=)`. */
export interface ThreadOptions<F extends AnyFunction = AnyFunction> {
  /** What to run: a task from `taskModule()` or an inline function that uses only its parameters. */
  target?: Target<F>;
  /** The target's arguments; each must be structured-cloneable. @default [] */
  args?: NoInfer<Parameters<F>>;
  /** A name for reports and errors. @default `Thread-N` / `Process-N` */
  name?: string;
  /** A daemon does not keep the program alive. @default false */
  daemon?: boolean;
}

/** How a task ran inside the worker: its value (or error) and the worker's wall-clock start and end. */
export type Invocation<R> =
  | { readonly ok: true; readonly value: R; readonly started: number; readonly ended: number }
  | { readonly ok: false; readonly error: Error; readonly started: number; readonly ended: number };

type State = 'initial' | 'started' | 'stopped';

interface Pending {
  readonly name: string;
  readonly module: string | undefined;
  resolve(value: Invocation<unknown>): void;
  reject(error: Error): void;
}

const counters: Record<WorkerKind, number> = { thread: 0, process: 0 };

/** The unobserved-failure hook, like Python's `threading.excepthook`. */
export type ExceptHook = (args: { readonly thread: BaseThread; readonly error: Error }) => void;

let excepthook: ExceptHook | undefined;

/**
 * A task module that fails to load fails every thread that runs it, the same way: that is one
 * failure, given to its caller once. Each such error is known here by its module and cause; once
 * one of them has been observed (`result()`, `error`) or reported, the others are not reported
 * again. An unobserved one waits to be reported until nobody is waiting in `join()` or `result()`
 * (a program joining its threads one by one reads a result once it has joined them all).
 */
const loadFailures = new WeakMap<Error, string>();
const loadFailuresSeen = new Set<string>();
/** How many `join()` and `result()` calls are waiting, in any thread; what a load failure's report waits for. */
let waiting = 0;
let afterWaiting: (() => void)[] = [];

function waitOver(): void {
  if (--waiting > 0 || afterWaiting.length === 0) return;
  // One turn later: a caller that has just joined reads the result in its next step.
  _setTimeout(() => {
    if (waiting > 0) return;
    const run = afterWaiting;
    afterWaiting = [];
    for (const f of run) f();
  }, 0);
}

const alive = new Set<BaseThread>();

/** The threads and processes started from here that are still alive, like Python's `multiprocessing.active_children()`. */
export function activeChildren(): BaseThread[] {
  return [...alive];
}

/** Sets what happens to a failure nobody observed (default: its stack is written to stderr once). Pass `undefined` to restore the default. */
export function setExcepthook(hook: ExceptHook | undefined): void {
  if (hook !== undefined && typeof hook !== 'function') {
    throw new TypeError(`Cannot set the excepthook: it must be a function ({ thread, error }) => void, or undefined for the default, got ${describe(hook)}`);
  }
  excepthook = hook;
}

/**
 * What `Thread` and `Process` share. `run()` is the thread's body: by default it runs
 * `target(...args)` in the worker; a subclass overrides it and calls `this.invoke(...)`.
 */
export abstract class BaseThread<F extends AnyFunction = AnyFunction, R = Awaited<ReturnType<F>>> {
  /** `thread` or `process`. */
  protected abstract readonly kind: WorkerKind;
  /** The target given to the constructor. */
  protected readonly target: Target<F> | undefined;
  /** The arguments given to the constructor. */
  protected readonly args: Parameters<F>;
  /** A name for reports and errors. */
  name: string;

  #daemon: boolean;
  #state: State = 'initial';
  #runtime: Runtime | undefined;
  #link: WorkerLink | undefined;
  #pending = new Map<number, Pending>();
  #nextId = 0;
  #starting = false;
  #startError: Error | undefined;
  #terminating: 'terminate' | 'kill' | undefined;
  #workerExited = false;
  #workerCode: number | null = null;
  #uncaught: Error | undefined;
  #requestedExit: number | undefined;
  #runtimeError: Error | undefined;
  #runSettled = false;
  #value: R | undefined;
  #error: Error | undefined;
  #observed = false;
  #exitCode: number | null = null;
  #done: Promise<void>;
  #markDone!: () => void;

  constructor(options: ThreadOptions<F> = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`Cannot create a ${this.constructor.name}: options must be an object, got ${describe(options)}`);
    }
    // A subclass may take options of its own and pass them on; Thread and Process take these only.
    if (new.target === Thread || new.target === Process) checkOptionNames(`Cannot create a ${new.target.name}`, options, THREAD_OPTIONS);
    const { target, args = [] as unknown as Parameters<F>, name, daemon = false } = options;
    if (target !== undefined) targetSpec(target, `Cannot create ${this.constructor.name}`);
    if (!Array.isArray(args)) {
      throw new TypeError(`Cannot create ${this.constructor.name}: args must be an array of arguments, got ${describe(args)}`);
    }
    if (name !== undefined && typeof name !== 'string') {
      throw new TypeError(`Cannot create ${this.constructor.name}: name must be a string, got ${describe(name)}`);
    }
    if (typeof daemon !== 'boolean') {
      throw new TypeError(`Cannot create ${this.constructor.name}: daemon must be a boolean, got ${describe(daemon)}`);
    }
    this.target = target;
    this.args = args as Parameters<F>;
    this.#daemon = daemon;
    this.name = name ?? '';
    this.#done = new Promise((resolve) => (this.#markDone = resolve));
  }

  #label(): string {
    return this.name || `${this.kind === 'process' ? 'Process' : 'Thread'}`;
  }

  /** Whether this worker keeps the program alive (false) or not (true). Set it before `start()`. */
  get daemon(): boolean {
    return this.#daemon;
  }
  set daemon(value: boolean) {
    if (this.#state !== 'initial')
      throw new InvalidStateError(
        `Cannot set daemon on ${this.#label()}: it has already been started; set it before calling start(), or pass daemon in the options`,
      );
    if (typeof value !== 'boolean') throw new TypeError(`Cannot set daemon on ${this.#label()}: expected a boolean, got ${describe(value)}`);
    this.#daemon = value;
  }

  /** The thread id (a process id for `Process`), once started; `undefined` before. */
  get ident(): number | undefined {
    return this.#link?.handle.ident;
  }

  /**
   * How it ended, as Python's `exitcode`: `null` while it runs (or before it starts), 0 after a
   * normal end, 1 after an error, n after an explicit `exit(n)`, -15 after `terminate()`, -9 after `kill()`.
   */
  get exitCode(): number | null {
    return this.#exitCode;
  }

  /** The error it ended with, or `undefined`. Reading it counts as observing the failure, so it is not reported. */
  get error(): Error | undefined {
    this.#observe();
    return this.#error;
  }

  /** The caller has seen (or will see) how it ended: it is not reported. */
  #observe(): void {
    this.#observed = true;
    const key = this.#error && loadFailures.get(this.#error);
    if (key !== undefined) loadFailuresSeen.add(key);
  }

  /** Reports its error, unless a caller observed it first (or the same load failure has been given out). */
  #reportUnobserved(error: Error): void {
    if (this.#observed) return;
    const key = loadFailures.get(error);
    if (key !== undefined) {
      if (waiting > 0) {
        afterWaiting.push(() => this.#reportUnobserved(error));
        return;
      }
      if (loadFailuresSeen.has(key)) {
        this.#observed = true;
        return;
      }
      loadFailuresSeen.add(key);
    }
    this.#observed = true;
    report(this, error);
  }

  /** Whether it has started and not yet ended. */
  isAlive(): boolean {
    return this.#state === 'started';
  }

  /** Starts the worker and runs `run()`. Throws if called twice, or when the arguments cannot be sent. */
  start(): void {
    if (this.#state !== 'initial') {
      throw new InvalidStateError(`Cannot start ${this.#label()}: a ${this.kind} can only be started once; create a new one`);
    }
    const runtime = getRuntime();
    this.#runtime = runtime;
    counters[this.kind]++;
    if (!this.name) this.name = `${this.kind === 'process' ? 'Process' : 'Thread'}-${counters[this.kind]}`;
    this.#state = 'started';
    try {
      this.#link = new WorkerLink(
        runtime,
        { kind: this.kind, name: this.name, daemon: this.#daemon },
        {
          message: (message) => this.#onMessage(message),
          error: (error) => this.#onRuntimeError(error),
          exit: (code) => this.#onExit(code),
        },
      );
    } catch (error) {
      this.#state = 'stopped';
      this.#error = new WorkerStartError(`Cannot start ${this.name}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      this.#markDone();
      throw this.#error;
    }
    alive.add(this);
    this.#starting = true;
    let body: Promise<unknown>;
    try {
      body = Promise.resolve(this.run());
    } catch (error) {
      body = Promise.reject(error);
    } finally {
      this.#starting = false;
    }
    if (this.#startError) {
      const error = this.#startError;
      body.catch(() => {});
      this.#observed = true;
      this.#link.handle.kill();
      this.#error = error;
      this.#state = 'stopped';
      alive.delete(this);
      this.#markDone();
      throw error;
    }
    body.then(
      (value) => this.#onRunSettled(true, value),
      (error) => this.#onRunSettled(false, error),
    );
  }

  /**
   * The thread's body. By default it runs `target(...args)` in the worker and returns its value.
   * Override it in a subclass (Python's `run()`) and call `this.invoke(task, ...args)` to run code in the worker.
   */
  protected async run(): Promise<unknown> {
    if (this.target === undefined) return undefined;
    return this.invoke(this.target, ...this.args);
  }

  /** Runs a task in this thread's worker and returns its value; throws its error (a `TaskError` with the remote stack). */
  protected async invoke<G extends AnyFunction>(target: Target<G>, ...args: Parameters<G>): Promise<Awaited<ReturnType<G>>> {
    const outcome = await this.invokeDetailed(target, ...args);
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  }

  /** Like {@link invoke}, but reports the worker's start and end times and returns failures instead of throwing them. */
  protected invokeDetailed<G extends AnyFunction>(target: Target<G>, ...args: Parameters<G>): Promise<Invocation<Awaited<ReturnType<G>>>> {
    const link = this.#link;
    if (!link) return Promise.reject(new InvalidStateError(`Cannot invoke a task on ${this.#label()}: call start() first; invoke() is for use inside run()`));
    const name = targetName(target);
    if (this.#workerExited) return Promise.reject(this.#exitError(name));
    let spec: TargetSpec;
    try {
      spec = targetSpec(target, `Cannot run a task on ${this.name}`);
    } catch (error) {
      return Promise.reject(error);
    }
    const id = ++this.#nextId;
    try {
      const shared = link.shared ? undefined : findSharedMemory(args, 'args');
      if (shared) throw sharedMemoryError(`Cannot start ${name} on ${this.name}`, shared);
      link.post({ t: 'run', id, target: spec, args: marshal(args, link.marshal) as unknown[] });
    } catch (error) {
      const failure =
        error instanceof DataCloneError
          ? error
          : isCloneFailure(error)
            ? explainCloneError(`Cannot start ${name} on ${this.name}`, args, 'args', error, this.kind)
            : error instanceof Error
              ? error
              : new Error(String(error));
      if (this.#starting && !this.#startError) this.#startError = failure;
      return Promise.reject(failure);
    }
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { name, module: spec.kind === 'module' ? spec.url : undefined, resolve: resolve as (v: Invocation<unknown>) => void, reject });
    });
  }

  /**
   * Waits until it has ended. Resolves `true` when it has (or was never started), `false` when
   * `timeout` ms passed first. Never rejects for the thread's own failure: read `error` or call `result()`.
   */
  async join(timeout?: number): Promise<boolean> {
    const ms = checkTimeout(`Cannot join ${this.#label()}`, timeout);
    if (this.#state === 'initial') throw new InvalidStateError(`Cannot join ${this.#label()}: it has not been started; call start() first`);
    return this.#waitDone(ms);
  }

  /**
   * The value `run()` returned (the target's return value), once it has ended. Throws the error it
   * ended with (with the remote stack), or `TimeoutError` when `timeout` ms pass first; a timeout
   * leaves it running, so it can still be joined or terminated.
   */
  async result(timeout?: number): Promise<R> {
    const ms = checkTimeout(`Cannot get the result of ${this.#label()}`, timeout);
    this.#observed = true;
    if (this.#state === 'initial') throw new InvalidStateError(`Cannot get the result of ${this.#label()}: it has not been started; call start() first`);
    if (!(await this.#waitDone(ms))) {
      throw new TimeoutError(`Cannot get the result of ${this.name}: it did not finish within ${ms} ms; it is still running (join, or terminate it)`);
    }
    this.#observe();
    if (this.#error) throw this.#error;
    return this.#value as R;
  }

  /** Stops it now (SIGTERM for a process); `exitCode` becomes -15. Resolves once it has ended. */
  terminate(): Promise<void> {
    return this.#stop('terminate');
  }

  /** Stops it at once (SIGKILL for a process); `exitCode` becomes -9. Resolves once it has ended. */
  protected kill(): Promise<void> {
    return this.#stop('kill');
  }

  #stop(how: 'terminate' | 'kill'): Promise<void> {
    if (this.#state === 'initial') return Promise.resolve();
    const handle = this.#link?.handle;
    if (this.#state !== 'started' || !handle) return this.#done;
    if (!this.#workerExited && !this.#terminating) {
      this.#terminating = how;
      if (how === 'kill') handle.kill();
      else handle.terminate();
    }
    return this.#done;
  }

  /** The runtime this one runs on (set by `start()`). */
  protected get runtime(): Runtime | undefined {
    return this.#runtime;
  }

  /** The worker's OS process id, for processes. */
  protected get processId(): number | undefined {
    return this.#link?.handle.pid;
  }

  async #waitDone(ms: number | undefined): Promise<boolean> {
    if (this.#state === 'stopped') return true;
    // A daemon does not keep the program alive, but someone waiting for it does (as in Python).
    const letGo = this.#daemon ? keepAlive() : undefined;
    let timer: TimerHandle | undefined;
    waiting++;
    try {
      if (ms === undefined) {
        await this.#done;
        return true;
      }
      const timedOut = new Promise<false>((resolve) => (timer = _setTimeout(() => resolve(false), ms)));
      return await Promise.race([this.#done.then(() => true as const), timedOut]);
    } finally {
      _clearTimeout(timer);
      letGo?.();
      waitOver();
    }
  }

  #onMessage(message: FromWorker): void {
    switch (message.t) {
      case 'result':
      case 'failure':
        this.#settle(message);
        return;
      case 'exit':
        this.#requestedExit = message.code;
        return;
      case 'uncaught': {
        const error = new TaskError(deserializeError(message.error), this.name);
        this.#uncaught ??= error;
        this.#rejectAll(() => error);
        return;
      }
    }
  }

  #settle(message: ResultMessage | FailureMessage): void {
    const pending = this.#pending.get(message.id);
    if (!pending) return;
    this.#pending.delete(message.id);
    const { started, ended } = message;
    if (message.t === 'result') {
      pending.resolve({ ok: true, value: message.value, started, ended });
    } else {
      pending.resolve({ ok: false, error: this.#failureError(message, pending), started, ended });
    }
  }

  #failureError(message: FailureMessage, pending: Pending): Error {
    return failureError(message, pending.name, pending.module, this.name);
  }

  #exitError(task: string): Error {
    if (this.#uncaught) return this.#uncaught;
    if (this.#runtimeError) return this.#runtimeError;
    const code = this.#computeExitCode();
    const how =
      this.#terminating === 'kill' ? 'was killed' : this.#terminating === 'terminate' ? 'was terminated' : code === null ? 'ended' : `exited with code ${code}`;
    const error = new WorkerExitError(`${this.kind === 'process' ? 'Process' : 'Thread'} ${this.name} ${how} while running ${task}`, code ?? 1);
    if (this.#requestedExit !== undefined && !this.#terminating) this.#explicitExits.add(error);
    return error;
  }

  /** The errors that stand for the task's own `exit(n)`: how it chose to end, not an exception. */
  readonly #explicitExits = new WeakSet<Error>();

  #rejectAll(error: (task: string) => Error): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(error(p.name));
  }

  #onRuntimeError(error: Error): void {
    const what = this.#link!.explain(error, this.name);
    this.#runtimeError ??= what.kind === 'crash' ? new TaskError(what.error, this.name) : what.error;
    this.#rejectAll(() => this.#runtimeError!);
  }

  #onExit(code: number | null): void {
    if (this.#workerExited) return;
    this.#workerExited = true;
    this.#workerCode = code;
    this.#rejectAll((task) => this.#exitError(task));
    // What it (or a thread it started, which ended with it) held can now be taken over.
    this.#link!.cleanUp(`${this.kind === 'process' ? 'Process' : 'Thread'} ${this.name} has ended`);
    this.#maybeFinish();
  }

  #onRunSettled(ok: boolean, valueOrError: unknown): void {
    this.#runSettled = true;
    if (ok) this.#value = valueOrError as R;
    else
      this.#error =
        valueOrError instanceof Error
          ? valueOrError
          : new TaskError(
              deserializeError({ name: 'Error', message: `run() rejected with a non-Error value: ${String(valueOrError)}`, stack: undefined }),
              this.name,
            );
    if (!this.#workerExited) this.#link?.post({ t: 'close' });
    this.#maybeFinish();
  }

  #computeExitCode(): number | null {
    if (this.#terminating === 'kill') return -9;
    if (this.#terminating === 'terminate') return -15;
    if (this.#uncaught || this.#runtimeError) return 1;
    const code = this.#workerCode ?? this.#requestedExit ?? null;
    if (code === 0 && this.#error) return 1;
    return code ?? (this.#error ? 1 : 0);
  }

  #maybeFinish(): void {
    if (!this.#workerExited || !this.#runSettled || this.#state === 'stopped') return;
    this.#state = 'stopped';
    alive.delete(this);
    // An explicit exit(n) is not an exception (Python prints nothing for sys.exit): exit(0) is a
    // normal end; after exit(n) `error` and `result()` tell it, but it is never reported.
    const explicit = this.#error !== undefined && this.#explicitExits.has(this.#error);
    if (explicit && this.#requestedExit === 0) this.#error = undefined;
    this.#exitCode = this.#computeExitCode();
    // An error that escaped every task outranks what run() made of it.
    if (this.#uncaught) this.#error = this.#uncaught;
    else if (this.#runtimeError && !this.#error) this.#error = this.#runtimeError;
    this.#markDone();
    const error = this.#error;
    if (error && !this.#terminating && !explicit) {
      // Give a joiner that reads `error` or calls `result()` right after join() a turn to observe it.
      if (this.#observed) this.#observe();
      else _setTimeout(() => this.#reportUnobserved(error), 0);
    }
  }
}

/** The error a task's failure stands for, as its caller sees it: `task` ran on the worker `workerName`. */
export function failureError(failure: PoolFailure, task: string, module: string | undefined, workerName: string): Error {
  const remote = deserializeError(failure.error);
  switch (failure.kind) {
    case 'not-found':
      return new TaskNotFoundError(module ?? 'the task module', task, failure.exports ?? []);
    case 'load': {
      const error = new WorkerStartError(`Cannot start ${task} on ${workerName}: its module failed to load: ${remote.name}: ${remote.message}`, {
        cause: remote,
      });
      loadFailures.set(error, `${module ?? ''}\n${remote.name}: ${remote.message}`);
      return error;
    }
    case 'clone': {
      const revived = reviveError(failure.error);
      return revived instanceof DataCloneError ? revived : new DataCloneError(remote.message, 'result', { cause: remote });
    }
    default:
      return new TaskError(remote, workerName);
  }
}

function report(thread: BaseThread, error: Error): void {
  if (excepthook) {
    excepthook({ thread, error });
    return;
  }
  getRuntime().reportError(`Exception in ${thread.name}:\n${error.stack ?? `${error.name}: ${error.message}`}`);
}

/** A thread: a worker in this process, sharing memory where the runtime allows. Python's `threading.Thread`. */
export class Thread<F extends AnyFunction = AnyFunction, R = Awaited<ReturnType<F>>> extends BaseThread<F, R> {
  protected readonly kind = 'thread' as const;
}

/**
 * A process: an OS process where the runtime has them (Node), else an isolated worker.
 * Python's `multiprocessing.Process`.
 */
export class Process<F extends AnyFunction = AnyFunction, R = Awaited<ReturnType<F>>> extends BaseThread<F, R> {
  protected readonly kind = 'process' as const;

  /** The OS process id once started; `undefined` where `Process` is a worker. */
  get pid(): number | undefined {
    return this.processId;
  }

  /** Stops it at once (SIGKILL); `exitCode` becomes -9. Resolves once it has ended. */
  override kill(): Promise<void> {
    return super.kill();
  }
}
