/**
 * The worker side of a `Pool`: a pool worker runs the tasks its parent sends one at a time, in
 * the order they were sent, and sends their ends back in batches (one message for many tasks).
 * {@link taskSignal} gives the running task its `AbortSignal`.
 *
 * The parent must know, if the worker dies, which of the tasks it held had started (they fail)
 * and which had not (they run elsewhere). Where the worker shares memory with its parent (a
 * thread), a small control block counts the tasks it has taken, and also carries the tasks the
 * parent cancelled (so a cancelled task never starts, and a CPU-bound task that never yields to
 * its event loop still sees its signal abort). Where it does not (a process), the worker sends
 * what it has done and how many tasks it has taken before it starts each task: a message sent
 * before the task starts reaches the parent even if the worker is then killed, so the count is
 * exact however the worker dies, and a task whose result could still be lost is only ever the
 * one that started last.
 */
import { _clearTimeout, _now, _setTimeout, _structuredClone } from '../_globals.js';
import { explainCloneError, isCloneFailure } from '../clone.js';
import { AbortError, TimeoutError, serializeError } from '../errors.js';
import { Aborter } from '../rpc.js';
import {
  CANCEL_RING,
  CTL_CANCELS,
  CTL_RING,
  CTL_TAKEN,
  DONE_FAILED,
  DONE_STATUS,
  DONE_STRIDE,
  DONE_VALUE,
  DONE_NUMBERS,
  DONE_OK,
  DONE_SKIPPED,
  MODE_APPLY,
  MODE_FLUSH_FIRST,
  MODE_MAP,
  MODE_NUMBERS,
  type CancelReason,
  type PoolFailure,
  type TargetSpec,
  TASK_ID,
  TASK_MODE,
  TASK_PAYLOAD,
  TASK_STRIDE,
  TASK_TARGET,
  type TasksMessage,
} from '../protocol.js';
import type { AnyFunction } from '../task.js';
import { Decoder, Encoder } from '../codec/index.js';

/** Results are sent once this many wait, or this many ms after the first of them ended. */
const FLUSH_COUNT = 128;
const FLUSH_MS = 2;
/** A task that ran this long is reported at once, and the worker reads its messages before the next. */
const LONG_TASK_MS = 1;

// Tasks and results travel encoded by core's codec (several times faster than structured clone
// for arrays and objects); this worker's own pair.
const encoder = new Encoder();
const decoder = new Decoder();

type HostAbortController = { readonly signal: AbortSignal; abort(reason?: unknown): void };
const HostAC = (globalThis as { AbortController?: new () => HostAbortController }).AbortController;

function newController(): HostAbortController {
  if (HostAC) return new HostAC();
  const signal = new Aborter() as unknown as AbortSignal & Aborter;
  (signal as unknown as { throwIfAborted(): void }).throwIfAborted = () => {
    if (signal.aborted) throw signal.reason;
  };
  return { signal, abort: (reason) => signal.abort(reason) };
}

let never: AbortSignal | undefined;

/** What the worker loop lends the runner. */
export interface RunnerHost {
  /** Finds a target's function (imports its module once). */
  resolve(target: TargetSpec): Promise<AnyFunction>;
  /** Turns handles in args back into objects. */
  revive(value: unknown): unknown;
  /** How a task failed, as the protocol carries it. */
  failure(error: unknown, target: TargetSpec): PoolFailure;
  /** Posts `{ t: 'done', ... }`; throws the host's clone error when a value cannot be sent. */
  post(message: { readonly t: 'done'; readonly r?: unknown[]; readonly bytes?: Uint8Array; readonly taken?: number; readonly loaded?: number }): void;
  /** The runner has nothing left to do. */
  idle(): void;
  /**
   * Where the worker has a progress cell (a process whose runtime made one, see
   * `WorkerScope.progress`): writes how many tasks it has taken; false when the write failed.
   */
  progress?(count: number): boolean;
  /** Whether a thrown value is the worker loop's own `exit()` signal. */
  isExit(error: unknown): boolean;
}

/** The task running now, and its signal (made only when the task asks for it). */
interface Current {
  id: number;
  cancelled: CancelReason | undefined;
  message: string;
  controller: HostAbortController | undefined;
}

function reasonError(reason: CancelReason, message: string): Error {
  return reason === 'timeout' ? new TimeoutError(message || 'The pool task ran out of time') : new AbortError(message || 'The pool task was aborted');
}

const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';

/**
 * `out[i] = fn(items[i])` from `from` on, until the end or a result that is a promise (left in
 * `out` for the caller to await); returns where it stopped. A small loop of its own, so the
 * engine optimizes it early.
 */
function mapSync(fn: AnyFunction, items: ArrayLike<unknown>, out: unknown[], from: number): number {
  const n = items.length;
  for (let i = from; i < n; i++) {
    const v = fn(items[i]);
    out[i] = v;
    if (isThenable(v)) return i;
  }
  return n;
}

/** {@link mapSync} for `starmap`: `fn(...items[i])`. */
function starmapSync(fn: AnyFunction, items: ArrayLike<unknown[]>, out: unknown[], from: number): number {
  const n = items.length;
  for (let i = from; i < n; i++) {
    const v = fn(...items[i]!);
    out[i] = v;
    if (isThenable(v)) return i;
  }
  return n;
}

/** Runs a pool worker's tasks. One per worker. */
export class PoolRunner {
  readonly #host: RunnerHost;
  readonly #ctl: Int32Array | undefined;
  #targets: TargetSpec[] = [];
  #fns: (AnyFunction | undefined)[] = [];
  /** Batches received, and where the first one is up to (flat: id, target, mode, payload). */
  #batches: unknown[][] = [];
  #at = 0;
  #running = false;
  /** Results not yet sent (flat: id, status, value, started, ended), and their targets. */
  #out: unknown[] = [];
  #outTargets: number[] = [];
  #outSince = 0;
  #cancelsSeen = 0;
  /** Tasks cancelled before they started. */
  #cancelled = new Set<number>();
  #current: Current | undefined;
  /** Tasks taken from the batches so far, run or skipped. */
  #taken = 0;
  /** No shared control block: the parent learns of each task's start from a message sent before it. */
  #announce: boolean;
  /** The worker is ending: it takes no more tasks. */
  #halted = false;

  constructor(host: RunnerHost, control: Int32Array | undefined) {
    this.#host = host;
    this.#ctl = control;
    this.#announce = control === undefined && host.progress === undefined;
  }

  /** Whether tasks are running or waiting. */
  get busy(): boolean {
    return this.#running || this.#batches.length > 0;
  }

  /**
   * The worker is ending (`exit()`, an uncaught error): it takes no more tasks, sends the results
   * it holds, and returns how many tasks it has taken, for the message that says it ends. The
   * parent reads that message after every result sent before it, so it knows exactly which of
   * the tasks it sent had started.
   */
  halt(): number {
    this.#halted = true;
    this.flush();
    return this.#taken;
  }

  /** Takes a batch of tasks from the parent. */
  receive(message: TasksMessage): void {
    const defs = message.targets;
    if (defs) for (let i = 0; i < defs.length; i += 2) this.#targets[defs[i] as number] = defs[i + 1] as TargetSpec;
    this.#batches.push((message.bytes ? decoder.decode(message.bytes, message.shared) : message.tasks) as unknown[]);
    if (!this.#running) void this.#loop();
  }

  /** The parent cancelled a task: skip it if it has not started, abort its signal if it runs. */
  cancel(id: number, reason: CancelReason, message: string): void {
    const cur = this.#current;
    if (cur && cur.id === id) {
      if (cur.cancelled) return;
      cur.cancelled = reason;
      cur.message = message;
      cur.controller?.abort(reasonError(reason, message));
      return;
    }
    // A cancellation can arrive (through shared memory) before the task it names; the set stays small.
    if (this.#cancelled.size > 4096) this.#cancelled.clear();
    this.#cancelled.add(id);
  }

  /** Reads the cancellations the parent wrote to shared memory since the last look. */
  pollCancels(): void {
    const ctl = this.#ctl;
    if (!ctl) return;
    const n = Atomics.load(ctl, CTL_CANCELS);
    if (n === this.#cancelsSeen) return;
    for (let i = Math.max(this.#cancelsSeen, n - CANCEL_RING); i < n; i++) {
      const at = CTL_RING + 2 * (i % CANCEL_RING);
      this.cancel(Atomics.load(ctl, at), Atomics.load(ctl, at + 1) === 2 ? 'timeout' : 'abort', '');
    }
    this.#cancelsSeen = n;
  }

  /** The running task's signal (see {@link taskSignal}). */
  signal(): AbortSignal {
    const cur = this.#current;
    if (!cur) return neverAborted();
    this.pollCancels();
    if (cur.controller) return cur.controller.signal;
    const controller = newController();
    cur.controller = controller;
    if (cur.cancelled) controller.abort(reasonError(cur.cancelled, cur.message));
    else if (this.#ctl) this.#watch(controller.signal);
    return controller.signal;
  }

  /**
   * Makes reading `signal.aborted` (and `throwIfAborted()`) look at shared memory first, so a
   * CPU-bound task that never yields to its event loop still sees an abort. Native code that
   * takes the signal (fetch, timers) reads its internal state, which the abort message sets.
   */
  #watch(signal: AbortSignal): void {
    let proto: object | null = Object.getPrototypeOf(signal);
    let getter: (() => boolean) | undefined;
    while (proto && !getter) {
      getter = Object.getOwnPropertyDescriptor(proto, 'aborted')?.get as (() => boolean) | undefined;
      proto = Object.getPrototypeOf(proto);
    }
    if (!getter) return;
    const poll = (): void => this.pollCancels();
    const read = getter;
    const throwIfAborted = signal.throwIfAborted;
    try {
      Object.defineProperty(signal, 'aborted', {
        configurable: true,
        get() {
          poll();
          return read.call(signal);
        },
      });
      Object.defineProperty(signal, 'throwIfAborted', {
        configurable: true,
        writable: true,
        value() {
          poll();
          return throwIfAborted.call(signal);
        },
      });
    } catch {
      // A host whose signals cannot take own properties: aborts arrive by message only.
    }
  }

  async #loop(): Promise<void> {
    this.#running = true;
    const host = this.#host;
    const ctl = this.#ctl;
    const cur: Current = { id: 0, cancelled: undefined, message: '', controller: undefined };
    try {
      for (;;) {
        const batch = this.#batches[0];
        if (!batch || this.#halted) break;
        if (this.#at >= batch.length) {
          this.#batches.shift();
          this.#at = 0;
          continue;
        }
        const at = this.#at;
        const id = batch[at + TASK_ID] as number;
        const ti = batch[at + TASK_TARGET] as number;
        const flags = batch[at + TASK_MODE] as number;
        const mode = flags & ~MODE_FLUSH_FIRST;
        const payload = batch[at + TASK_PAYLOAD];
        batch[at + TASK_PAYLOAD] = undefined;
        this.#at = at + TASK_STRIDE;
        this.#taken++;
        if (ctl) {
          Atomics.add(ctl, CTL_TAKEN, 1);
          this.pollCancels();
        } else if (!this.#announce && !this.#host.progress!(this.#taken)) {
          // The progress cell failed: from now on the parent hears of each start by message.
          this.#announce = true;
        }
        if (this.#cancelled.size > 0 && this.#cancelled.delete(id)) {
          const t = _now();
          this.#push(id, ti, DONE_SKIPPED, undefined, t, t);
          continue;
        }
        // Without shared memory, the parent hears that this task starts (with what is done
        // before it) before it starts: if the worker dies, the parent knows it ran, and that the
        // tasks after it did not. A task the parent expects to take a while: what is done goes
        // out before it starts.
        if (this.#announce) this.flush(true);
        else if (flags & MODE_FLUSH_FIRST) this.flush();
        cur.id = id;
        cur.cancelled = undefined;
        cur.controller = undefined;
        this.#current = cur;
        let started = _now();
        let status: number = DONE_OK;
        let value: unknown;
        try {
          let fn = this.#fns[ti];
          if (!fn) {
            this.#flushSoon();
            fn = this.#fns[ti] = await host.resolve(this.#targets[ti]!);
            // What ended before it first, then that it is loaded: the task's timeout counts from here.
            this.flush();
            host.post({ t: 'done', loaded: ti });
          }
          started = _now();
          if (mode === MODE_APPLY) {
            value = fn(...(host.revive(payload) as unknown[]));
            if (isThenable(value)) {
              this.#flushSoon();
              value = await value;
            }
          } else {
            // A chunk of numbers came as a Float64Array; results that are all numbers go back as one.
            const items = (mode & MODE_NUMBERS ? payload : host.revive(payload)) as ArrayLike<unknown>;
            const spread = (mode & ~MODE_NUMBERS) !== MODE_MAP;
            const out = new Array<unknown>(items.length);
            let numbers = true;
            // Synchronously while the function returns plain values; an await only for a promise.
            for (let i = 0; i < items.length; ) {
              i = spread ? starmapSync(fn, items as ArrayLike<unknown[]>, out, i) : mapSync(fn, items, out, i);
              if (i === items.length) break;
              this.#flushSoon();
              out[i] = await (out[i] as PromiseLike<unknown>);
              i++;
            }
            for (let i = 0; i < out.length; i++) {
              if (typeof out[i] !== 'number') {
                numbers = false;
                break;
              }
            }
            if (numbers && out.length > 0) {
              value = new Float64Array(out as number[]);
              status = DONE_NUMBERS;
            } else value = out;
          }
        } catch (error) {
          if (host.isExit(error)) return;
          status = DONE_FAILED;
          value = host.failure(error, this.#targets[ti]!);
        }
        const ended = _now();
        this.#current = undefined;
        this.#push(id, ti, status, value, started, ended);
        const long = ended - started >= LONG_TASK_MS;
        // Without shared memory the result goes out with the next task's start notice (or when
        // the worker runs dry): one message, and one wake-up of the parent, per task.
        if (this.#announce) {
          if (!this.#hasMore()) this.flush();
        } else if (long || cur.cancelled || this.#out.length >= 5 * FLUSH_COUNT || ended - this.#outSince >= FLUSH_MS) this.flush();
        // After a long task, read the parent's messages (cancellations) before taking the next.
        if (long && this.#hasMore()) await macrotask();
      }
    } finally {
      this.#running = false;
      this.#current = undefined;
      this.flush();
    }
    host.idle();
  }

  #hasMore(): boolean {
    const b = this.#batches;
    return b.length > 1 || (b.length === 1 && this.#at < b[0]!.length);
  }

  #push(id: number, ti: number, status: number, value: unknown, started: number, ended: number): void {
    if (this.#out.length === 0) this.#outSince = ended;
    // In the order of the DONE_* offsets (protocol.ts).
    this.#out.push(id, status, value, started, ended);
    this.#outTargets.push(ti);
  }

  #flushTimer: ReturnType<typeof _setTimeout> | undefined;

  /** The task awaits: what earlier tasks returned goes out within FLUSH_MS, not when this one ends. */
  #flushSoon(): void {
    if (this.#out.length === 0 || this.#flushTimer !== undefined) return;
    this.#flushTimer = _setTimeout(() => {
      this.#flushTimer = undefined;
      this.flush();
    }, FLUSH_MS);
  }

  /**
   * Sends the results that wait (with `start`, and without shared memory, also how many tasks
   * have been taken, even with no results). A result that cannot be sent becomes a failure that
   * says why.
   */
  flush(start = false): void {
    if (this.#flushTimer !== undefined) {
      _clearTimeout(this.#flushTimer);
      this.#flushTimer = undefined;
    }
    const r = this.#out;
    const taken = this.#announce ? this.#taken : undefined;
    if (r.length === 0) {
      if (start) this.#host.post({ t: 'done', taken });
      return;
    }
    const targets = this.#outTargets;
    this.#out = [];
    this.#outTargets = [];
    let bytes: Uint8Array | undefined;
    try {
      bytes = encoder.encode(r, 'result').slice();
    } catch {
      // Something the codec does not take: structured clone tries, and says what fails.
    }
    if (bytes) {
      this.#host.post({ t: 'done', bytes, taken });
      return;
    }
    try {
      this.#host.post({ t: 'done', r, taken });
      return;
    } catch (error) {
      if (!isCloneFailure(error)) throw error;
      for (let i = 0, k = 0; i < r.length; i += DONE_STRIDE, k++) {
        if (r[i + DONE_STATUS] !== DONE_OK) continue;
        try {
          _structuredClone(r[i + DONE_VALUE]);
        } catch (cause) {
          r[i + DONE_STATUS] = DONE_FAILED;
          r[i + DONE_VALUE] = this.#cloneFailure(r[i + DONE_VALUE], targets[k]!, cause);
        }
      }
    }
    try {
      this.#host.post({ t: 'done', r, taken });
    } catch (error) {
      // The host refused what structured clone took: fail every result with its error.
      for (let i = 0, k = 0; i < r.length; i += DONE_STRIDE, k++) {
        if (r[i + DONE_STATUS] === DONE_OK) {
          r[i + DONE_STATUS] = DONE_FAILED;
          r[i + DONE_VALUE] = this.#cloneFailure(r[i + DONE_VALUE], targets[k]!, error);
        }
      }
      this.#host.post({ t: 'done', r, taken });
    }
  }

  #cloneFailure(value: unknown, ti: number, cause: unknown): PoolFailure {
    const name = this.#targets[ti]?.name ?? 'the task';
    return { kind: 'clone', error: serializeError(explainCloneError(`Cannot return the result of ${name}`, value, 'result', cause)) };
  }
}

// A macrotask, so the worker reads its messages before it goes on: a MessageChannel round trip
// (setTimeout(0) waits a whole millisecond on some hosts).
type Port = { onmessage: ((e: unknown) => void) | null; postMessage(m: unknown): void; unref?(): void };
let channel: { port1: Port; port2: Port } | undefined;
const wakers: (() => void)[] = [];

function macrotask(): Promise<void> {
  const MC = (globalThis as { MessageChannel?: new () => { port1: Port; port2: Port } }).MessageChannel;
  if (!MC) return new Promise((resolve) => _setTimeout(resolve, 0));
  if (!channel) {
    channel = new MC();
    channel.port1.onmessage = () => wakers.shift()?.();
    // A pending yield must not keep the worker alive by itself.
    channel.port1.unref?.();
    channel.port2.unref?.();
  }
  const ch = channel;
  return new Promise((resolve) => {
    wakers.push(resolve);
    ch.port2.postMessage(null);
  });
}

function neverAborted(): AbortSignal {
  return (never ??= newController().signal);
}

let active: PoolRunner | undefined;

/** Called by the worker loop when this worker becomes a pool worker. */
export function _setRunner(runner: PoolRunner): void {
  active = runner;
}

/**
 * Inside a `Pool` task: the task's `AbortSignal`. It aborts when the `signal` given to
 * `apply`/`map`/`imap` aborts, when their `timeout` passes, or when the pool is terminated; its
 * `reason` is an `AbortError` or a `TimeoutError`. A task that stops on it (returns or throws)
 * keeps its worker; one that does not stop within the pool's `abortGrace` has its worker
 * terminated and replaced. Outside a pool task (a `Thread`, the main thread) the signal never aborts.
 *
 * Async code can pass it on (`fetch(url, { signal: taskSignal() })`) or listen for `abort`. A
 * CPU-bound loop that never awaits should read `signal.aborted` (or call `throwIfAborted()`) as
 * it goes: in a thread, each read also looks at memory the parent shares with the worker, so it
 * sees the abort at once even though the worker's event loop is busy. In a process (no shared
 * memory) the abort arrives as a message, which the worker reads when the task awaits.
 * @example
 * export function countPrimes(limit: number): number {
 *   const signal = taskSignal();
 *   let count = 0;
 *   for (let n = 2; n < limit; n++) {
 *     if ((n & 0xffff) === 0) signal.throwIfAborted();
 *     if (isPrime(n)) count++;
 *   }
 *   return count;
 * }
 */
export function taskSignal(): AbortSignal {
  if (active) return active.signal();
  return (globalThis as { [TASK_SIGNAL_HOST]?: () => AbortSignal | undefined })[TASK_SIGNAL_HOST]?.() ?? neverAborted();
}

/**
 * Where a host that runs tasks itself, outside a pool worker (`@threadkit/redis`'s inline
 * workers, which run them on their own thread), tells {@link taskSignal} the signal of the task
 * running now: a function on `globalThis` under this registered symbol (every copy of this
 * package reads the same one), consulted only where no pool runner is active. Returning
 * undefined means "no task of mine": the signal then never aborts, as outside any task.
 */
export const TASK_SIGNAL_HOST = Symbol.for('threadkit.taskSignal.host');
