/**
 * Naming tasks across machines. A worker on another machine cannot resolve the caller's file URL,
 * so a task module is addressed by a name that each worker maps to its own file
 * (`threadkit-worker --tasks tasks=./dist/tasks.js`); its type still comes from the module.
 */
import type { AnyFunction, TaskRef } from '@threadkit/core';
import { InvalidStateError } from '@threadkit/core';
import { describe } from '@threadkit/core/pool-kit';

/** A task of a named remote module: `tasks.render`. */
export interface RemoteTaskRef<F extends AnyFunction = AnyFunction> extends TaskRef<F> {
  /** The module's name, as workers know it. */
  readonly remote: string;
}

/** The exported functions of a module, as {@link RemoteTaskRef}s, and its name. */
export type RemoteTaskModule<M> = {
  readonly [K in keyof M as M[K] extends AnyFunction ? K : never]: M[K] extends AnyFunction ? RemoteTaskRef<M[K]> : never;
} & { readonly moduleName: string };

/** What a module name may be: it travels in every job and must match the workers' `--tasks`. */
export function checkModuleName(what: string, name: unknown): string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(name)) {
    throw new TypeError(`${what}: a task module name must be 1–64 letters, digits, '_', '.' or '-', got ${describe(name)}`);
  }
  return name;
}

/**
 * Names a task module that workers serve under `name`. Give it the module's type to get fully
 * typed tasks: a missing export or a wrong argument type is a compile error.
 * @example
 * const tasks = remoteTasks<typeof import('./tasks.ts')>('tasks');
 * await pool.apply(tasks.add, [2, 3]);
 */
export function remoteTasks<M>(name: string): RemoteTaskModule<M> {
  const moduleName = checkModuleName('Cannot name remote tasks', name);
  const refs = new Map<string, RemoteTaskRef>();
  return new Proxy({} as RemoteTaskModule<M>, {
    get(_target, prop) {
      if (prop === 'moduleName') return moduleName;
      if (typeof prop !== 'string' || prop === 'then') return undefined;
      let ref = refs.get(prop);
      if (!ref) {
        ref = Object.freeze({ kind: 'task', module: `threadkit-remote:${moduleName}`, name: prop, remote: moduleName }) as RemoteTaskRef;
        refs.set(prop, ref);
      }
      return ref;
    },
  });
}

export function isRemoteTaskRef(value: unknown): value is RemoteTaskRef {
  return typeof value === 'object' && value !== null && (value as RemoteTaskRef).kind === 'task' && typeof (value as RemoteTaskRef).remote === 'string';
}

/** What a task run by a threadkit worker knows of its call, to be idempotent. */
export interface TaskContext {
  /** The call's id: the same on every attempt of one call, different for every call. */
  readonly callId: string;
  /** 1 on the first run; 2 or more when an earlier run's worker died or stalled. */
  readonly attempt: number;
  /** The most runs the call allows (1: at most once). */
  readonly maxAttempts: number;
  /** The worker running it: host, pid and worker id. */
  readonly worker: { readonly id: string; readonly host: string; readonly pid: number };
}

/** Where the running task's context lives: one slot per thread, shared by every copy of this package. */
export const CONTEXT = Symbol.for('threadkit.redis.taskContext');

/**
 * The running remote task's call id and attempt number. Throws `InvalidStateError` outside a task
 * that a threadkit worker runs.
 * @example
 * export async function charge(order: Order) {
 *   const { callId } = taskContext();
 *   await payments.charge(order, { idempotencyKey: callId });
 * }
 */
export function taskContext(): TaskContext {
  const ctx = current().ctx;
  if (!ctx) throw new InvalidStateError('taskContext() works only inside a task that a threadkit worker (serve() or threadkit-worker) runs for a RemotePool');
  return ctx;
}

/** Where `reportProgress()` sends to: the worker's progress queue, when the caller listens. */
export const PROGRESS = Symbol.for('threadkit.redis.progress');

/** An inline worker's task (`serve({ kind: 'inline' })`): its context, progress sink and signal. */
export interface InlineTask {
  readonly ctx: TaskContext;
  readonly progress: ProgressSink | undefined;
  readonly signal: AbortSignal;
}

/** Where an inline worker keeps its running tasks (an `AsyncLocalStorage`): several run at once on one thread. */
export const INLINE = Symbol.for('threadkit.redis.inlineTasks');

interface Slots {
  [CONTEXT]?: TaskContext;
  [PROGRESS]?: ProgressSink;
  [INLINE]?: { getStore(): InlineTask | undefined };
}

/** The running task's context and progress sink: an inline task's, else this thread's slots (a pool thread runs one task at a time). */
function current(): { readonly ctx?: TaskContext | undefined; readonly progress?: ProgressSink | undefined } {
  const g = globalThis as Slots;
  return g[INLINE]?.getStore() ?? { ctx: g[CONTEXT], progress: g[PROGRESS] };
}

/** The part of a threadkit `Queue` that progress needs. */
export interface ProgressSink {
  put(item: { id: string; c: string; v: unknown }, options: { block: false }): Promise<void>;
}

/**
 * Tells the caller how far the running remote task has come: `onProgress` of its `apply()` gets
 * `value` (anything the codec carries). Does nothing when the caller did not ask for progress, or
 * outside a remote task; progress that comes faster than it can travel is dropped, never queued up.
 * @example
 * export async function render(scene: Scene) {
 *   for (let i = 0; i < scene.frames; i++) { draw(i); reportProgress({ frame: i + 1, of: scene.frames }); }
 * }
 */
export function reportProgress(value: unknown): void {
  const { ctx, progress: sink } = current();
  if (!sink || !ctx) return;
  sink.put({ id: ctx.callId, c: ctx.callId.slice(0, ctx.callId.indexOf('.')), v: value }, { block: false }).catch(() => {});
}
