/**
 * Tasks: what runs in a worker. Functions cannot cross a worker boundary, so a task
 * names an exported function of a module ({@link taskModule}), or is an inline function
 * sent as source text.
 */
import type { TargetSpec } from './protocol.js';
import { describe } from './validate.js';

// biome-ignore lint/suspicious/noExplicitAny: any is what lets every function signature through
export type AnyFunction = (...args: any[]) => any;

declare const taskType: unique symbol;

/** A typed reference to an exported function of a task module: `tasks.superPlayer`. */
export interface TaskRef<F extends AnyFunction = AnyFunction> {
  readonly kind: 'task';
  /** The module's URL. */
  readonly module: string;
  /** The export's name. */
  readonly name: string;
  /** Carries the function's type; never present at run time. */
  readonly [taskType]?: F;
}

/** What a worker can run: a {@link TaskRef} or an inline function that uses only its parameters and globals. */
export type Target<F extends AnyFunction = AnyFunction> = TaskRef<F> | F;

/** The function type behind a target. */
export type TargetFunction<T> = T extends TaskRef<infer F> ? F : T extends AnyFunction ? T : never;

/** The exports of a module that are functions, as {@link TaskRef}s. */
export type TaskModule<M> = {
  readonly [K in keyof M as M[K] extends AnyFunction ? K : never]: M[K] extends AnyFunction ? TaskRef<M[K]> : never;
} & { readonly url: string };

/** Something that names a module: a URL, or a string that is one. */
export type ModuleSpecifier = string | { readonly href: string };

/**
 * Names a task module. Give it the module's type to get fully typed {@link TaskRef}s:
 * a missing export or a wrong argument type is a compile error.
 * @example
 * const tasks = taskModule<typeof import('./tasks.ts')>(new URL('./tasks.ts', import.meta.url));
 * new Thread({ target: tasks.superPlayer, args: ['歌曲1', 3] });
 */
export function taskModule<M>(url: ModuleSpecifier): TaskModule<M> {
  const href = typeof url === 'string' ? url : url?.href;
  if (typeof href !== 'string' || href === '') {
    throw new TypeError(`Cannot create a task module: expected a URL or a URL string, got ${describe(url)}`);
  }
  if (!/^[a-z][a-z0-9+.-]*:/i.test(href)) {
    throw new TypeError(
      `Cannot create a task module: ${JSON.stringify(href)} is not an absolute URL; workers resolve modules on their own, so pass new URL('./tasks.ts', import.meta.url)`,
    );
  }
  const refs = new Map<string, TaskRef>();
  return new Proxy({} as TaskModule<M>, {
    get(_target, prop) {
      if (prop === 'url') return href;
      // Not a thenable: `await taskModule(...)` must not look for `.then`.
      if (typeof prop !== 'string' || prop === 'then') return undefined;
      let ref = refs.get(prop);
      if (!ref) {
        ref = Object.freeze({ kind: 'task', module: href, name: prop }) as TaskRef;
        refs.set(prop, ref);
      }
      return ref;
    },
  });
}

/** Whether a value is a {@link TaskRef}. */
export function isTaskRef(value: unknown): value is TaskRef {
  return typeof value === 'object' && value !== null && (value as TaskRef).kind === 'task' && typeof (value as TaskRef).module === 'string';
}

/** Turns a target into what the wire protocol carries. */
export function targetSpec(target: unknown, what: string): TargetSpec {
  if (isTaskRef(target)) return { kind: 'module', url: target.module, name: target.name };
  if (typeof target === 'function') {
    const source = Function.prototype.toString.call(target);
    if (/\{\s*\[native code\]\s*\}\s*$/.test(source)) {
      throw new TypeError(
        `${what}: target ${target.name || '(anonymous)'} is a native or bound function, which cannot be sent to a worker as source text; export it from a task module and use taskModule()`,
      );
    }
    if (/^class\b/.test(source)) {
      throw new TypeError(`${what}: target ${target.name} is a class, not a function; give a function or a task from taskModule()`);
    }
    return { kind: 'source', source, name: target.name || '(anonymous)' };
  }
  throw new TypeError(`${what}: target must be a task from taskModule() or a function, got ${describe(target)}`);
}

/** A human name for a target, for thread names and reports. */
export function targetName(target: unknown): string {
  if (isTaskRef(target)) return target.name;
  if (typeof target === 'function') return target.name || '(anonymous)';
  return String(target);
}
