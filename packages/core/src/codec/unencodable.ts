/**
 * What the `Encoder` throws at a value it cannot carry: an {@link Unencodable} that each
 * container on the way out extends with its step of the path, which {@link explain} turns into
 * the `DataCloneError` the caller sees (`item.cb: function cb cannot be sent…`, with `.path`).
 */
import { DataCloneError } from '../errors.js';

/** Thrown inside the encoder at an unencodable value; each container on the way out adds its step of the path. */
export class Unencodable {
  readonly steps: string[] = [];
  constructor(readonly reason: string) {}
}

export function addStep(error: unknown, step: string): unknown {
  if (error instanceof Unencodable) error.steps.push(step);
  return error;
}

const identifier = /^[A-Za-z_$][\w$]*$/;
export function keyStep(key: string): string {
  return identifier.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}
export function mapKeyLabel(key: unknown): string {
  if (typeof key === 'string') return JSON.stringify(key);
  if (typeof key === 'bigint') return `${key}n`;
  if (typeof key === 'object' && key !== null) return '<object>';
  return String(key);
}

export function describeUnsupported(o: object, tag: string): string {
  const name = tag.slice(8, -1);
  if (name === 'Promise') return 'Promise (await it first)';
  if (name === 'WeakMap' || name === 'WeakSet' || name === 'WeakRef' || name === 'FinalizationRegistry') return name;
  const ctor = (o as { constructor?: { name?: unknown } }).constructor?.name;
  return `${typeof ctor === 'string' && ctor !== '' ? ctor : name} (a host object the codec cannot carry)`;
}

/** The error an encode call throws: an {@link Unencodable} becomes a `DataCloneError` with its path from `root`; any other error passes as it is. */
export function explain(error: unknown, root: string): unknown {
  if (!(error instanceof Unencodable)) return error;
  const path = root + error.steps.reverse().join('');
  return new DataCloneError(
    `${path}: ${error.reason} cannot be sent to another thread; send plain data (objects, arrays, Map, Set, Date, RegExp, typed arrays, errors, threadkit objects) and rebuild the rest on the other side`,
    path,
  );
}
