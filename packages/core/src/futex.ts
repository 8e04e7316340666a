/**
 * Waiting on a word of memory without blocking an event loop: spin briefly, then
 * `Atomics.waitAsync` on shared memory, or an in-realm waiter list on ordinary memory
 * (the message transport, where only the owner touches the memory).
 *
 * Every wait may wake spuriously; callers re-check their condition in a loop.
 */
import { _clearTimeout, _setTimeout, _setWeakTimeout, type TimerHandle } from './_globals.js';
import { publishAll } from './publish.js';
import { _sharedCounter } from './tags.js';

/** How a wait ended. */
export type WaitResult = 'ok' | 'not-equal' | 'timed-out';

/** An `AbortSignal` as core needs it (structural, so core stays free of DOM types). */
export interface AbortSignalLike {
  readonly aborted: boolean;
  /** `false` on the signal of a call served for another realm: that wait keeps nothing alive (its caller does, if it should). */
  readonly keepsAlive?: boolean;
  readonly reason?: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

type WaitAsync = (
  i32: Int32Array,
  index: number,
  value: number,
  timeout?: number,
) => { async: boolean; value: Promise<'ok' | 'timed-out'> | 'not-equal' | 'timed-out' };

const waitAsync = (Atomics as unknown as { waitAsync?: WaitAsync }).waitAsync;
const SAB: (new (n: number) => ArrayBufferLike) | undefined = (globalThis as { SharedArrayBuffer?: new (n: number) => ArrayBufferLike }).SharedArrayBuffer;

/** Whether SharedArrayBuffer exists here (false in a page without cross-origin isolation). */
export const hasSharedMemory = typeof SAB === 'function';

/** Whether a typed array sits on shared memory. */
export function isShared(view: { buffer: ArrayBufferLike }): boolean {
  return hasSharedMemory && view.buffer instanceof (SAB as unknown as typeof ArrayBuffer);
}

/** New zeroed memory: shared when asked and available, else ordinary. */
export function allocate(bytes: number, shared: boolean): ArrayBuffer {
  return (shared && SAB ? new SAB(bytes) : new ArrayBuffer(bytes)) as ArrayBuffer;
}

// ---------------------------------------------------------------------------
// Keeping the program alive while a wait is pending: a pending `Atomics.waitAsync` does not
// keep Node alive, so a ref'd timer does, for as long as any wait is pending.

let pendingWaits = 0;
let keepAliveTimer: TimerHandle | undefined;
const KEEP_ALIVE_MS = 2 ** 30;

function hold(): void {
  if (pendingWaits++ === 0) {
    const tick = (): void => {
      keepAliveTimer = _setTimeout(tick, KEEP_ALIVE_MS);
    };
    tick();
  }
}

function release(): void {
  if (--pendingWaits === 0) {
    _clearTimeout(keepAliveTimer);
    keepAliveTimer = undefined;
  }
}

/** Keeps the program alive until the returned function is called (for a wait that nothing else holds it for). */
export function keepAlive(): () => void {
  hold();
  let held = true;
  return () => {
    if (held) {
      held = false;
      release();
    }
  };
}

// ---------------------------------------------------------------------------
// Waiters on ordinary memory: only the realm that owns the memory ever waits on it.

const localWaiters = new WeakMap<ArrayBufferLike, Map<number, Set<() => void>>>();

function localWait(i32: Int32Array, index: number, value: number, timeout: number | undefined, signal: AbortSignalLike | undefined): Promise<WaitResult> {
  if (Atomics.load(i32, index) !== value) return Promise.resolve('not-equal');
  let byIndex = localWaiters.get(i32.buffer);
  if (!byIndex) localWaiters.set(i32.buffer, (byIndex = new Map()));
  const at = i32.byteOffset / 4 + index;
  let set = byIndex.get(at);
  if (!set) byIndex.set(at, (set = new Set()));
  const waiters = set;
  return new Promise<WaitResult>((resolve) => {
    let timer: TimerHandle | undefined;
    const keep = signal?.keepsAlive !== false;
    const done = (result: WaitResult): void => {
      waiters.delete(wake);
      _clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (keep) release();
      resolve(result);
    };
    const wake = (): void => done('ok');
    const onAbort = (): void => done('ok');
    waiters.add(wake);
    if (keep) hold();
    if (timeout !== undefined) timer = (keep ? _setTimeout : _setWeakTimeout)(() => done('timed-out'), timeout);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function localNotify(i32: Int32Array, index: number, count: number): void {
  const set = localWaiters.get(i32.buffer)?.get(i32.byteOffset / 4 + index);
  if (!set) return;
  for (const wake of [...set].slice(0, count)) wake();
}

// ---------------------------------------------------------------------------

/** The most spin iterations before sleeping: tens of microseconds, enough to catch a peer that answers at once. */
// ---------------------------------------------------------------------------
// Spin accounting: the threads of an OS process count, in a word they share, how many of them
// spin right now, so that no more spin than there are CPUs.

let cpus = 1;

/** The number of CPUs, as the runtime reported it (waits use it to decide whether to spin). */
export function _setCpus(n: number): void {
  cpus = Math.max(1, n | 0);
}

/**
 * Counts this thread in as a spinner, unless as many threads as there are CPUs already spin:
 * then spinning would only take a core from the thread it waits for. Returns whether it may spin.
 */
function startSpinning(): boolean {
  const counter = _sharedCounter();
  if (Atomics.add(counter, 1, 1) < cpus) return true;
  Atomics.sub(counter, 1, 1);
  return false;
}

/** Counts this thread out as a spinner. */
function stopSpinning(): void {
  Atomics.sub(_sharedCounter(), 1, 1);
}

/** The most iterations a waiter spins before it sleeps. */
const SPIN_LIMIT = 20_000;
/** The fewest: a spin that keeps failing still looks once or twice before sleeping. */
const SPIN_FLOOR = 64;
/**
 * This realm's spin budget, adapted to how spins go (as adaptive mutexes do): a spin that
 * succeeds after k iterations raises it to 2k, a spin that fails halves it. When the machine is
 * oversubscribed, the peer is often not running while we spin, spins fail, and the budget falls,
 * so waiting turns into sleeping instead of burning the core the peer needs. Every 16th spin
 * probes with the full limit, so the budget recovers once quick answers come back.
 */
let spinBudget = SPIN_LIMIT;
let spins = 0;

/**
 * Spins while `i32[index] === value`, up to the spin budget; returns true if it changed. Callers
 * spin before they count themselves as sleepers, so a peer answering at once pays no notify.
 * On ordinary memory (one realm) nobody else can change it: no spinning.
 */
export function spin(i32: Int32Array, index: number, value: number): boolean {
  publishAll();
  if (!isShared(i32)) return false;
  // With every CPU already spinning, spinning takes a core from the thread we wait for: sleep instead.
  if (!startSpinning()) return Atomics.load(i32, index) !== value;
  const budget = (++spins & 15) === 0 ? SPIN_LIMIT : spinBudget;
  try {
    for (let i = 0; i < budget; i++) {
      if (Atomics.load(i32, index) !== value) {
        if (2 * i > spinBudget) spinBudget = Math.min(SPIN_LIMIT, 2 * i);
        return true;
      }
    }
    spinBudget = Math.max(Math.min(SPIN_FLOOR, SPIN_LIMIT), spinBudget >> 1);
    return Atomics.load(i32, index) !== value;
  } finally {
    stopSpinning();
  }
}

/**
 * Waits while `i32[index] === value`, until notified, `timeout` ms pass, or `signal` aborts
 * (an abort ends the wait with 'ok': the caller re-checks and sees the signal).
 */
export async function wait(i32: Int32Array, index: number, value: number, timeout?: number, signal?: AbortSignalLike): Promise<WaitResult> {
  // What this realm put is published before it waits on anything.
  publishAll();
  if (signal?.aborted) return 'ok';
  if (!isShared(i32)) return localWait(i32, index, value, timeout, signal);
  if (timeout === 0) return Atomics.load(i32, index) === value ? 'timed-out' : 'not-equal';
  if (!waitAsync) return pollWait(i32, index, value, timeout, signal);
  const r = waitAsync(i32, index, value, timeout);
  if (!r.async) return r.value as WaitResult;
  const keep = signal?.keepsAlive !== false;
  if (keep) hold();
  let onAbort: (() => void) | undefined;
  try {
    if (!signal) return await (r.value as Promise<WaitResult>);
    // An abort wakes every waiter on the word; they re-check, so the spurious wake-up is harmless.
    onAbort = () => Atomics.notify(i32, index);
    signal.addEventListener('abort', onAbort, { once: true });
    return await (r.value as Promise<WaitResult>);
  } finally {
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    if (keep) release();
  }
}

/** Where `Atomics.waitAsync` is missing: poll with a growing delay. */
async function pollWait(i32: Int32Array, index: number, value: number, timeout: number | undefined, signal: AbortSignalLike | undefined): Promise<WaitResult> {
  const deadline = timeout === undefined ? Number.POSITIVE_INFINITY : Date.now() + timeout;
  let delay = 0;
  const keep = signal?.keepsAlive !== false;
  if (keep) hold();
  try {
    while (Atomics.load(i32, index) === value) {
      if (signal?.aborted) return 'ok';
      const left = deadline - Date.now();
      if (left <= 0) return 'timed-out';
      await new Promise<void>((resolve) => (keep ? _setTimeout : _setWeakTimeout)(resolve, Math.min(delay, left)));
      delay = Math.min(delay * 2 + 1, 20);
    }
    return 'ok';
  } finally {
    if (keep) release();
  }
}

/** Wakes up to `count` waiters on `i32[index]` (all by default). */
export function notify(i32: Int32Array, index: number, count = Number.POSITIVE_INFINITY): void {
  // A signal (set, release, notify) follows what this realm put before it.
  publishAll();
  notifyRaw(i32, index, count);
}

/** Wakes waiters without publishing first (for the rings' own wake-ups, inside a publish). */
export function notifyRaw(i32: Int32Array, index: number, count = Number.POSITIVE_INFINITY): void {
  if (isShared(i32)) Atomics.notify(i32, index, count);
  else localNotify(i32, index, count);
}

/** A deadline helper: the ms left of a timeout, or undefined for none. */
export function deadlineOf(timeout: number | undefined): () => number | undefined {
  if (timeout === undefined) return () => undefined;
  const end = Date.now() + timeout;
  return () => Math.max(0, end - Date.now());
}
