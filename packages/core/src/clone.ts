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
export function explainCloneError(what: string, value: unknown, path: string, cause: unknown): DataCloneError {
  const found = findUncloneable(value, path);
  const where = found ? `${found.path}: ${found.reason}` : `${path}: ${cause instanceof Error ? cause.message : String(cause)}`;
  return new DataCloneError(
    `${what}: ${where} cannot be sent to another thread; send plain data (objects, arrays, Map, Set, Date, typed arrays, errors) and rebuild the rest on the other side`,
    found?.path ?? path,
    { cause },
  );
}

/** Whether an error thrown by a post is a clone failure (DataCloneError by name: hosts use their own classes). */
export function isCloneFailure(error: unknown): boolean {
  if (!(error instanceof Error) && !(typeof error === 'object' && error !== null)) return false;
  const e = error as { name?: unknown; message?: unknown; code?: unknown };
  return e.name === 'DataCloneError' || e.code === 25 || (typeof e.message === 'string' && /could not be cloned|clone|serializ/i.test(e.message));
}
