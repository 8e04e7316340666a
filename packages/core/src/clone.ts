/**
 * Finds what makes a value impossible to send to another worker, so the error can say
 * where it is (`args[0].cb: function`) instead of the runtime's bare "could not be cloned".
 */
import { DataCloneError } from './errors.js';
import { _structuredClone } from './_globals.js';

/** Where in `value` the first value that structured clone refuses sits, and why; `undefined` when it all clones. */
export function findUncloneable(value: unknown, path: string, seen = new Set<unknown>()): { path: string; reason: string } | undefined {
  switch (typeof value) {
    case 'function':
      return { path, reason: `function${value.name ? ` ${value.name}` : ''}` };
    case 'symbol':
      return { path, reason: 'symbol' };
    case 'object': {
      if (value === null || seen.has(value)) return undefined;
      seen.add(value);
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const found = findUncloneable(value[i], `${path}[${i}]`, seen);
          if (found) return found;
        }
        return undefined;
      }
      if (value instanceof Map) {
        let i = 0;
        for (const [k, v] of value) {
          const found = findUncloneable(k, `${path}.<key ${i}>`, seen) ?? findUncloneable(v, `${path}.get(${keyLabel(k)})`, seen);
          if (found) return found;
          i++;
        }
        return undefined;
      }
      if (value instanceof Set) {
        let i = 0;
        for (const v of value) {
          const found = findUncloneable(v, `${path}.<item ${i++}>`, seen);
          if (found) return found;
        }
        return undefined;
      }
      if (value instanceof Promise) return { path, reason: 'Promise (await it first)' };
      if (value instanceof WeakMap || value instanceof WeakSet) return { path, reason: value.constructor.name };
      // Host objects (a socket, a DOM node...) fail as a whole: try the object itself first.
      try {
        _structuredClone(value);
        return undefined;
      } catch (error) {
        for (const key of Object.keys(value)) {
          const found = findUncloneable((value as Record<string, unknown>)[key], `${path}.${key}`, seen);
          if (found) return found;
        }
        const ctor = (value as object).constructor?.name ?? 'object';
        return { path, reason: `${ctor}: ${error instanceof Error ? error.message : String(error)}` };
      }
    }
    default:
      return undefined;
  }
}

function keyLabel(k: unknown): string {
  return typeof k === 'string' ? JSON.stringify(k) : String(k);
}

/** Wraps the runtime's clone failure in a {@link DataCloneError} naming where the culprit is. */
export function explainCloneError(what: string, value: unknown, path: string, cause: unknown, to: 'thread' | 'process' = 'thread'): DataCloneError {
  const found = findUncloneable(value, path);
  const where = found ? `${found.path}: ${found.reason}` : `${path}: ${cause instanceof Error ? cause.message : String(cause)}`;
  return new DataCloneError(
    `${what}: ${where} cannot be sent to another ${to}; send plain data (objects, arrays, Map, Set, Date, typed arrays, errors) and rebuild the rest on the other side`,
    found?.path ?? path,
    { cause },
  );
}

const sabTag = '[object SharedArrayBuffer]';

/** Whether `value` is a SharedArrayBuffer or a view of one. */
function isSharedMemory(value: object): boolean {
  if (Object.prototype.toString.call(value) === sabTag) return true;
  return ArrayBuffer.isView(value) && Object.prototype.toString.call(value.buffer) === sabTag;
}

/**
 * Where in `value` shared memory sits (a SharedArrayBuffer, or a typed array or DataView over
 * one), looking through arrays, plain objects, Maps and Sets; `undefined` when there is none.
 */
export function findSharedMemory(value: unknown, path: string, seen = new Set<unknown>()): string | undefined {
  if (typeof value !== 'object' || value === null || seen.has(value)) return undefined;
  seen.add(value);
  if (isSharedMemory(value)) return path;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findSharedMemory(value[i], `${path}[${i}]`, seen);
      if (found) return found;
    }
    return undefined;
  }
  if (value instanceof Map) {
    for (const [k, v] of value) {
      const found = findSharedMemory(v, `${path}.get(${keyLabel(k)})`, seen);
      if (found) return found;
    }
    return undefined;
  }
  if (value instanceof Set) {
    let i = 0;
    for (const v of value) {
      const found = findSharedMemory(v, `${path}.<item ${i++}>`, seen);
      if (found) return found;
    }
    return undefined;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return undefined;
  for (const key of Object.keys(value)) {
    const found = findSharedMemory((value as Record<string, unknown>)[key], `${path}.${key}`, seen);
    if (found) return found;
  }
  return undefined;
}

/**
 * The error for shared memory sent where no memory is shared (an OS process, an isolated worker):
 * a runtime would refuse it, or quietly send a copy that the sender's writes never reach.
 */
export function sharedMemoryError(what: string, path: string): DataCloneError {
  return new DataCloneError(
    `${what}: ${path} is shared memory (a SharedArrayBuffer or a view of one), which cannot reach another process: it shares no memory with this one; share data through a Queue or a Pipe passed in args, or send a copy (e.g. new Uint8Array(view))`,
    path,
  );
}

/** Whether an error thrown by a post is a clone failure (DataCloneError by name: hosts use their own classes). */
export function isCloneFailure(error: unknown): boolean {
  if (!(error instanceof Error) && !(typeof error === 'object' && error !== null)) return false;
  const e = error as { name?: unknown; message?: unknown; code?: unknown };
  return e.name === 'DataCloneError' || e.code === 25 || (typeof e.message === 'string' && /could not be cloned|clone|serializ/i.test(e.message));
}
