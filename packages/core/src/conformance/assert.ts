/**
 * The few assertions the conformance suite needs, so it runs under any test runner
 * (vitest in Node and in a browser, `deno test`) without depending on one.
 */

export class AssertionError extends Error {
  override name = 'AssertionError';
}

function show(v: unknown): string {
  try {
    return typeof v === 'string' ? JSON.stringify(v) : typeof v === 'bigint' ? `${v}n` : (JSON.stringify(v) ?? String(v));
  } catch {
    return String(v);
  }
}

export function ok(value: unknown, message = 'expected a truthy value'): asserts value {
  if (!value) throw new AssertionError(`${message}, got ${show(value)}`);
}

export function equal<T>(actual: T, expected: T, message = ''): void {
  if (!Object.is(actual, expected)) throw new AssertionError(`${message ? `${message}: ` : ''}expected ${show(expected)}, got ${show(actual)}`);
}

export function deepEqual(actual: unknown, expected: unknown, message = ''): void {
  if (!same(actual, expected)) throw new AssertionError(`${message ? `${message}: ` : ''}expected ${show(expected)}, got ${show(actual)}`);
}

function same(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (a instanceof Date) return a.getTime() === (b as Date).getTime();
  if (a instanceof Map)
    return (
      a.size === (b as Map<unknown, unknown>).size &&
      [...a].every(([k, v]) => (b as Map<unknown, unknown>).has(k) && same(v, (b as Map<unknown, unknown>).get(k)))
    );
  if (a instanceof Set) return a.size === (b as Set<unknown>).size && [...a].every((v) => (b as Set<unknown>).has(v));
  if (ArrayBuffer.isView(a)) return same([...(a as unknown as ArrayLike<number> as unknown as number[])], [...(b as unknown as number[])]);
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

export function match(text: unknown, pattern: RegExp, message = ''): void {
  if (typeof text !== 'string' || !pattern.test(text)) throw new AssertionError(`${message ? `${message}: ` : ''}expected ${show(text)} to match ${pattern}`);
}

type ErrorClass = abstract new (...args: never[]) => Error;

function checkError(error: unknown, cls: ErrorClass | undefined, pattern: RegExp | undefined): Error {
  if (!(error instanceof Error)) throw new AssertionError(`expected an Error, got ${show(error)}`);
  if (cls && !(error instanceof cls)) throw new AssertionError(`expected ${cls.name}, got ${(error as Error).name}: ${(error as Error).message}`);
  if (pattern && !pattern.test(error.message)) throw new AssertionError(`expected the message to match ${pattern}, got ${JSON.stringify(error.message)}`);
  return error;
}

export function throws(fn: () => unknown, cls?: ErrorClass, pattern?: RegExp): Error {
  try {
    fn();
  } catch (error) {
    return checkError(error, cls, pattern);
  }
  throw new AssertionError(`expected ${cls?.name ?? 'an error'} to be thrown, but nothing was`);
}

export async function rejects(promise: Promise<unknown> | (() => Promise<unknown>), cls?: ErrorClass, pattern?: RegExp): Promise<Error> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    return checkError(error, cls, pattern);
  }
  throw new AssertionError(`expected ${cls?.name ?? 'a rejection'}, but it resolved`);
}
