/**
 * The one seam between core and a JavaScript runtime. An adapter implements
 * {@link Runtime} (the parent side) and hands a {@link WorkerScope} to core's worker
 * loop (the worker side); everything else is core's.
 */

/** What kind of worker to spawn: a thread shares the process; a process is an OS process where the runtime has them. */
export type WorkerKind = 'thread' | 'process';

/** Options for {@link Runtime.spawn}. */
export interface SpawnOptions {
  readonly kind: WorkerKind;
  readonly name: string;
  /** A daemon worker does not keep the program alive. */
  readonly daemon: boolean;
  /** Memory limits for the worker (only where `capabilities.resourceLimits`). */
  readonly resourceLimits?: ResourceLimits;
  /**
   * Give the worker a progress cell (see {@link WorkerScope.progress}), where the runtime can:
   * a pool's process worker counts there the tasks it has started.
   */
  readonly progress?: boolean;
}

/**
 * Limits on a worker's memory, as Node's `Worker` takes them (and piscina passes them on): a
 * worker that goes past them ends with an out-of-memory error instead of growing without bound.
 */
export interface ResourceLimits {
  /** The most MB of the main heap. */
  readonly maxOldGenerationSizeMb?: number;
  /** The most MB of the heap for new objects. */
  readonly maxYoungGenerationSizeMb?: number;
  /** The thread's stack, in MB. */
  readonly stackSizeMb?: number;
}

/** Events a spawned worker reports to core. */
export interface WorkerEvents {
  /** A message the worker posted. */
  message(data: unknown): void;
  /** The runtime reports an error outside core's protocol (e.g. the worker entry failed to load). */
  error(error: unknown): void;
  /**
   * The worker is gone. `exitCode` follows Python: the code it exited with, or a negative
   * signal number when a signal ended it; `null` when the runtime cannot tell.
   */
  exit(exitCode: number | null): void;
}

/** A live worker, as the adapter gives it to core. */
export interface WorkerHandle {
  /** A thread id or process id, once known. */
  readonly ident: number | undefined;
  /** The OS process id, for process workers. */
  readonly pid: number | undefined;
  /** Posts a message; throws the runtime's DataCloneError when it cannot be cloned. */
  post(data: unknown, transfer?: readonly unknown[]): void;
  /** Asks the worker to stop now (SIGTERM for a process). Must lead to an `exit` event. */
  terminate(): void;
  /** Stops the worker at once (SIGKILL for a process); where there is no difference, the same as terminate. Must lead to an `exit` event. */
  kill(): void;
  /**
   * The last number the worker wrote to its progress cell (0 before it wrote any), readable
   * during the `exit` event even when the worker was killed; absent where it has no cell.
   */
  progress?(): number;
}

/** What a runtime can do. */
export interface Capabilities {
  /** `Process` is a real OS process. Where false, `Process` is an isolated worker. */
  readonly processes: boolean;
  /** SharedArrayBuffer and Atomics are available between workers. */
  readonly sharedMemory: boolean;
  /** `spawn` honours `resourceLimits`. */
  readonly resourceLimits?: boolean;
}

/** The parent side of an adapter. */
export interface Runtime {
  /** e.g. `node`, `browser`, `deno`. */
  readonly name: string;
  readonly capabilities: Capabilities;
  /** Spawns a worker that runs the adapter's worker entry, which hands control to core's worker loop. */
  spawn(options: SpawnOptions, events: WorkerEvents): WorkerHandle;
  /** The number of logical CPUs. */
  cpuCount(): number;
  /** Writes a report of an unobserved failure where the user will see it (stderr). */
  reportError(text: string): void;
}

/** The worker side of an adapter: what core's worker loop needs from the host. */
export interface WorkerScope {
  /** Posts a message to the parent. */
  post(data: unknown): void;
  /** Calls `handler` for every message from the parent. */
  onMessage(handler: (data: unknown) => void): void;
  /** Calls `handler` for every error that escapes all code (uncaught exceptions and unhandled rejections). */
  onUncaught(handler: (error: unknown) => void): void;
  /** Imports a task module by URL (adapters add TypeScript support here where the host lacks it). */
  importModule(url: string): Promise<Record<string, unknown>>;
  /** Ends the worker with an exit code once what was posted has been delivered. */
  exit(code: number): void;
  /**
   * Writes a number the parent can read however this worker ends, killed included (a message
   * may die in the worker's own buffers): present only where the parent asked for a progress
   * cell and the runtime made one. Cheap enough to call for every task. Returns false when the
   * write failed (the worker then tells its parent by message instead).
   */
  progress?(count: number): boolean;
}

import { InvalidStateError } from './errors.js';

let current: Runtime | undefined;

/** Installs the runtime that `Thread`, `Process` and the rest use. Adapters call this on import. */
export function useRuntime(runtime: Runtime): void {
  current = runtime;
  cpus = Math.max(1, runtime.cpuCount() | 0);
}

/** The installed runtime, or a clear error when core was imported without an adapter. */
export function getRuntime(): Runtime {
  if (!current) {
    throw new InvalidStateError(
      "No threadkit runtime is installed: import from '@threadkit/node', '@threadkit/browser' or '@threadkit/deno' rather than '@threadkit/core'",
    );
  }
  return current;
}

/** The number of logical CPUs of the installed runtime. */
export function cpuCount(): number {
  return getRuntime().cpuCount();
}

let scope: WorkerScope | undefined;
let self: CurrentThread = { name: 'MainThread', kind: 'main', ident: undefined };

/** Who is running: inside a task, the thread or process that runs it; elsewhere the main thread. */
export interface CurrentThread {
  readonly name: string;
  readonly kind: 'main' | 'thread' | 'process';
  /** The thread id (the process id for a process); `undefined` on the main thread. */
  readonly ident: number | undefined;
}

/** Python's `threading.current_thread()`: inside a task, the name, kind and ident of the worker running it. */
export function currentThread(): CurrentThread {
  return self;
}

/** Called by core's worker loop when the parent says who this worker is. */
export function _setCurrentThread(info: CurrentThread): void {
  self = Object.freeze({ ...info });
}
let requestExit: ((code: number) => void) | undefined;

/** Called by core's worker loop: marks this realm as a threadkit worker. */
export function _enterWorker(workerScope: WorkerScope, onExit: (code: number) => void): void {
  scope = workerScope;
  requestExit = onExit;
}

/** Whether this code runs inside a threadkit worker. */
export function inWorker(): boolean {
  return scope !== undefined;
}

/** Thrown by {@link exit} to stop the calling task; the worker loop recognises it. */
export class _ExitSignal {
  constructor(readonly code: number) {}
}

/**
 * Ends the current threadkit worker with an exit code, like Python's `sys.exit(n)` in a process:
 * the parent sees `exitCode === n` on every runtime (browsers give no exit codes of their own).
 * @throws when called outside a worker.
 */
export function exit(code = 0): never {
  if (!Number.isInteger(code) || code < 0 || code > 255) {
    throw new RangeError(`Cannot exit: code must be an integer from 0 to 255, got ${String(code)}`);
  }
  if (!requestExit) throw new InvalidStateError('Cannot exit: exit() ends a threadkit worker, so call it inside a task; the main program ends the usual way');
  requestExit(code);
  throw new _ExitSignal(code);
}

// ---------------------------------------------------------------------------
// Realm tags: a number unique to each thread of this OS process, so shared objects can
// record who holds them (RLock ownership, locks held by a worker that died).

let myTag = 1;
let tagCounter: Int32Array | undefined;

/** This realm's tag: 1 on the main thread of the first process, unique among the threads of an OS process. */
export function realmTag(): number {
  return myTag;
}

/** The realm on whose behalf the current call runs: a remote caller while serving one, else this realm. */
let callerTag: number | undefined;

/** The tag that owns what the current call acquires. */
export function currentCaller(): number {
  return callerTag ?? myTag;
}

/** Runs `fn` as if called by the realm `who` (the owner serving a call from another realm). */
export function _asCaller<T>(who: number, fn: () => T): T {
  const outer = callerTag;
  callerTag = who;
  try {
    return fn();
  } finally {
    callerTag = outer;
  }
}

/**
 * What every thread of an OS process knows of every tag: a bit set when that thread has ended,
 * a bit set when it has started threads of its own, and the tag of the thread that started it.
 * A thread that dies takes the threads it started with it (a runtime ends a worker's workers
 * with it), and only its own parent sees it go: the parent marks the whole subtree.
 */
let deadTags: Int32Array | undefined;
const DEAD_TAGS = 1 << 20;
const BIT_WORDS = DEAD_TAGS / 32;
const HAS_CHILDREN = BIT_WORDS;
const PARENT = 2 * BIT_WORDS;

function tagMemory(words: number): Int32Array {
  const SAB = (globalThis as unknown as { SharedArrayBuffer?: new (n: number) => ArrayBuffer }).SharedArrayBuffer;
  return new Int32Array(SAB ? new SAB(words * 4) : new ArrayBuffer(words * 4));
}

/** Allocates a tag for a new thread, from the counter its whole OS process shares. */
export function _allocateTag(shared: boolean): { tag: number; counter: Int32Array | undefined; dead: Int32Array | undefined } {
  if (!tagCounter) {
    // Word 0: the last tag given out. Word 1: how many threads spin right now (see futex.ts).
    tagCounter = tagMemory(2);
    Atomics.store(tagCounter, 0, myTag);
  }
  // The parent table only matters where threads share memory; untouched pages of it cost nothing.
  deadTags ??= tagMemory(typeof (globalThis as { SharedArrayBuffer?: unknown }).SharedArrayBuffer === 'function' ? PARENT + DEAD_TAGS : PARENT);
  const tag = Atomics.add(tagCounter, 0, 1) + 1;
  // Only a thread on shared memory ends with this one (a process lives on until it sees its channel close).
  if (shared && deadTags.length > PARENT && tag < DEAD_TAGS && myTag > 0 && myTag < DEAD_TAGS) {
    Atomics.store(deadTags, PARENT + tag, myTag);
    Atomics.or(deadTags, HAS_CHILDREN + (myTag >> 5), 1 << (myTag & 31));
  }
  return { tag, counter: shared ? tagCounter : undefined, dead: shared ? deadTags : undefined };
}

/** A number no other tag of this OS process has, from the counter its threads share (for callers through an endpoint). */
export function _nextTagNumber(): number {
  if (!tagCounter) {
    tagCounter = tagMemory(2);
    Atomics.store(tagCounter, 0, myTag);
  }
  return Atomics.add(tagCounter, 0, 1) + 1;
}

/** Called by the worker loop with what the parent allocated. */
export function _setRealmTag(tag: number, counter: Int32Array | undefined, dead: Int32Array | undefined): void {
  myTag = tag;
  if (counter) tagCounter = counter;
  if (dead) deadTags = dead;
}

let cpus = 1;

/** The number of CPUs, as the parent's runtime reported it (core's waits use it to decide whether to spin). */
export function _setCpus(n: number): void {
  cpus = Math.max(1, n | 0);
}

/**
 * Counts this thread in as a spinner, unless as many threads as there are CPUs already spin:
 * then spinning would only take a core from the thread it waits for. Returns whether it may spin.
 */
export function _startSpinning(): boolean {
  if (!tagCounter) {
    tagCounter = tagMemory(2);
    Atomics.store(tagCounter, 0, myTag);
  }
  if (Atomics.add(tagCounter, 1, 1) < cpus) return true;
  Atomics.sub(tagCounter, 1, 1);
  return false;
}

/** Counts this thread out as a spinner. */
export function _stopSpinning(): void {
  if (tagCounter) Atomics.sub(tagCounter, 1, 1);
}

/**
 * Marks a thread's tag as ended (its parent does, when the worker is gone), and with it every
 * thread it started that has not ended yet, and theirs; returns the tags it marked (`tag` first),
 * so the parent can let go of what any of them held.
 */
export function _markDead(tag: number): number[] {
  const ended = [tag];
  if (!deadTags || tag <= 0 || tag >= DEAD_TAGS) return ended;
  Atomics.or(deadTags, tag >> 5, 1 << (tag & 31));
  for (let i = 0; i < ended.length; i++) {
    const parent = ended[i]!;
    if ((Atomics.load(deadTags, HAS_CHILDREN + (parent >> 5)) & (1 << (parent & 31))) === 0) continue;
    // Children get tags after their parent's: look from there to the last tag given out.
    const last = Math.min(tagCounter ? Atomics.load(tagCounter, 0) : 0, DEAD_TAGS - 1);
    for (let t = parent + 1; t <= last; t++) {
      if (Atomics.load(deadTags, PARENT + t) === parent && !isDead(t)) {
        Atomics.or(deadTags, t >> 5, 1 << (t & 31));
        ended.push(t);
      }
    }
  }
  return ended;
}

/** Whether the thread with this tag has ended. */
export function isDead(tag: number): boolean {
  if (!deadTags || tag <= 0 || tag >= DEAD_TAGS) return false;
  return (Atomics.load(deadTags, tag >> 5) & (1 << (tag & 31))) !== 0;
}

// ---------------------------------------------------------------------------

/** How shared objects reach other realms: `auto` uses shared memory wherever it exists. */
export type Transport = 'auto' | 'shared' | 'message';

let transport: Transport = 'auto';

/**
 * Chooses the transport for objects created from now on (`auto` by default). `message` makes
 * them live in this realm and reach threads by messages, as they must for processes and
 * pages without cross-origin isolation; tests use it to run every test on both transports.
 */
export function useTransport(choice: Transport): void {
  if (choice !== 'auto' && choice !== 'shared' && choice !== 'message') {
    throw new TypeError(`Cannot use transport: expected 'auto', 'shared' or 'message', got ${String(choice)}`);
  }
  transport = choice;
}

/** The transport in force. */
export function currentTransport(): Transport {
  return transport;
}
