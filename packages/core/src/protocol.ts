/**
 * The wire protocol between a parent and a worker: message shapes only, no logic.
 * Every end of life travels through here, because browsers give no exit codes and
 * drop unhandled rejections, and Deno drops uncaught errors' stacks.
 */
import type { SerializedError } from './errors.js';
import type { RpcMessage } from './rpc.js';

/** Where a task's code comes from: an export of a module, or an inline function's source text. */
export type TargetSpec =
  | { readonly kind: 'module'; readonly url: string; readonly name: string }
  | { readonly kind: 'source'; readonly source: string; readonly name: string };

/** Parent → worker: run a task. */
export interface RunMessage {
  readonly t: 'run';
  readonly id: number;
  readonly target: TargetSpec;
  readonly args: readonly unknown[];
}

/** Parent → worker: no more tasks; exit with code 0 once idle. */
export interface CloseMessage {
  readonly t: 'close';
}

/** Parent → worker, first: who this worker is, for `currentThread()` inside tasks. */
export interface InitMessage {
  readonly t: 'init';
  readonly name: string;
  readonly kind: 'thread' | 'process';
  readonly ident: number | undefined;
  /** The worker's realm tag, and the counter its OS process allocates tags from (shared memory only). */
  readonly tag: number;
  readonly tagCounter: Int32Array | undefined;
  /** The bitmap of ended threads' tags, shared by the OS process (shared memory only). */
  readonly deadTags: Int32Array | undefined;
  /** The number of CPUs, as the parent's runtime reports it. */
  readonly cpus: number;
}

export type ToWorker = InitMessage | RunMessage | CloseMessage | RpcMessage;

/** Worker → parent: the worker loop is running. */
export interface ReadyMessage {
  readonly t: 'ready';
}

/** Worker → parent: a task returned. `started`/`ended` are wall-clock ms inside the worker. */
export interface ResultMessage {
  readonly t: 'result';
  readonly id: number;
  readonly value: unknown;
  readonly started: number;
  readonly ended: number;
}

/** Why a task failed: it threw, its module failed to load, its export is missing, or its result could not be sent back. */
export type FailureKind = 'threw' | 'load' | 'not-found' | 'clone' | 'source';

/** Worker → parent: a task failed. */
export interface FailureMessage {
  readonly t: 'failure';
  readonly id: number;
  readonly kind: FailureKind;
  readonly error: SerializedError;
  /** With `not-found`: the module's exported functions. */
  readonly exports?: readonly string[];
  readonly started: number;
  readonly ended: number;
}

/** Worker → parent: an error escaped every task (an uncaught exception or unhandled rejection); the worker exits with code 1 after it. */
export interface UncaughtMessage {
  readonly t: 'uncaught';
  readonly error: SerializedError;
}

/** Worker → parent: a task called `exit(code)`; the worker ends with that code. */
export interface ExitMessage {
  readonly t: 'exit';
  readonly code: number;
}

export type FromWorker = ReadyMessage | ResultMessage | FailureMessage | UncaughtMessage | ExitMessage | RpcMessage;

/** Marks threadkit's messages so a worker can share its port with user messages. */
export const PROTOCOL_KEY = '__threadkit__' as const;

/** An envelope: `{ __threadkit__: message }`. */
export type Envelope<M> = { readonly [PROTOCOL_KEY]: M };

export function envelope<M>(message: M): Envelope<M> {
  return { [PROTOCOL_KEY]: message };
}

export function unwrap<M>(data: unknown): M | undefined {
  if (typeof data === 'object' && data !== null && PROTOCOL_KEY in data) return (data as Envelope<M>)[PROTOCOL_KEY];
  return undefined;
}
