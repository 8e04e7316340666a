/**
 * The argument checks every public method shares: timeouts, integers, options objects (unknown
 * names refused, the closest known one suggested), the options of everything that waits, and
 * `describe`, which shows a value in an error message.
 */
import type { AbortSignalLike } from './futex.js';

/**
 * Checks a `timeout` argument: `undefined` means wait forever; otherwise a finite or infinite
 * number of milliseconds >= 0.
 * @throws TypeError when it is not a number, RangeError when it is negative or NaN.
 */
export function checkTimeout(what: string, timeout: unknown): number | undefined {
  if (timeout === undefined || timeout === null) return undefined;
  if (typeof timeout !== 'number') {
    throw new TypeError(`${what}: timeout must be a number of milliseconds >= 0 or undefined, got ${describe(timeout)}`);
  }
  if (Number.isNaN(timeout) || timeout < 0) {
    throw new RangeError(`${what}: timeout must be a number of milliseconds >= 0, got ${timeout}`);
  }
  return timeout === Number.POSITIVE_INFINITY ? undefined : timeout;
}

/** A short description of a value for error messages: `` `0` (number) ``. */
export function describe(value: unknown): string {
  let shown: string;
  try {
    shown = typeof value === 'string' ? JSON.stringify(value) : typeof value === 'function' ? `function ${value.name || '(anonymous)'}` : String(value);
  } catch {
    shown = Object.prototype.toString.call(value);
  }
  return `\`${shown}\` (${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value})`;
}

/**
 * Refuses an options object that names an option `allowed` does not have: a misspelt option
 * (`{ sise: 4 }`, `{ timout: 100 }`) would otherwise be ignored without a word.
 * @throws TypeError naming the unknown option, the closest known one, and what it takes.
 */
export function checkOptionNames(what: string, options: object, allowed: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (allowed.includes(key)) continue;
    const near = closest(key, allowed);
    throw new TypeError(
      `${what}: unknown option ${JSON.stringify(key)}${near ? ` (did you mean ${JSON.stringify(near)}?)` : ''}; it takes { ${allowed.join(', ')} }`,
    );
  }
}

/** The known name nearest to a misspelt one (at most two edits apart, differing in case only, or one the start of the other). */
function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  const lower = name.toLowerCase();
  for (const candidate of known) {
    const c = candidate.toLowerCase();
    const d = c === lower ? 0 : editDistance(name, candidate) < 3 ? editDistance(name, candidate) : c.startsWith(lower) || lower.startsWith(c) ? 2 : 3;
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length]!;
}

/**
 * Checks an integer argument: a number, an integer, from `min` to `max`.
 * @throws TypeError when it is not a number, RangeError when it is not an integer in range.
 */
export function checkInteger(what: string, name: string, value: unknown, min: number, max = 0x7fffffff): number {
  const range = max === 0x7fffffff ? `from ${min} and up` : `from ${min} to ${max}`;
  if (typeof value !== 'number') throw new TypeError(`${what}: ${name} must be an integer ${range}, got ${describe(value)}`);
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`${what}: ${name} must be an integer ${range}, got ${describe(value)}`);
  return value;
}

/** Checks that an options argument is an object (or absent) with only the names `allowed` lists. */
export function checkOptionsObject<T extends object>(what: string, options: unknown, allowed: readonly string[]): Partial<T> {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`${what}: options must be an object like { ${allowed.join(', ')} }, got ${describe(options)}`);
  }
  checkOptionNames(what, options, allowed);
  return options as Partial<T>;
}

/** The options of a lock's or a semaphore's `acquire()`. */
export const ACQUIRE_KEYS: readonly string[] = ['timeout', 'signal', 'blocking'];
/** The options of a plain wait (`Event.wait`, `Condition.wait`, `Barrier.wait`, `recv`, `join`). */
export const WAIT_KEYS: readonly string[] = ['timeout', 'signal'];
/** The options of a queue's `put()` and `get()` (Python's `block`). */
export const QUEUE_WAIT_KEYS: readonly string[] = ['timeout', 'signal', 'block'];

/** Checks that `signal` is an AbortSignal (or absent). */
export function checkSignal(what: string, signal: unknown): AbortSignalLike | undefined {
  if (signal === undefined) return undefined;
  if (
    typeof signal !== 'object' ||
    signal === null ||
    typeof (signal as AbortSignalLike).addEventListener !== 'function' ||
    typeof (signal as AbortSignalLike).aborted !== 'boolean'
  ) {
    throw new TypeError(`${what}: signal must be an AbortSignal, got ${describe(signal)}`);
  }
  return signal as AbortSignalLike;
}

/**
 * Checks wait options against the names `keys` allows; returns the timeout (undefined = forever),
 * the signal, and whether to wait at all (`blocking`, or a queue's `block`).
 */
export function checkWaitOptions(
  what: string,
  options: unknown,
  keys: readonly string[] = ACQUIRE_KEYS,
): { timeout: number | undefined; signal: AbortSignalLike | undefined; blocking: boolean } {
  if (options === undefined) return { timeout: undefined, signal: undefined, blocking: true };
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${what}: options must be an object like { ${keys.join(', ')} }, got ${describe(options)}`);
  }
  checkOptionNames(what, options, keys);
  const o = options as { readonly timeout?: unknown; readonly signal?: AbortSignalLike; readonly blocking?: unknown; readonly block?: unknown };
  const timeout = checkTimeout(what, o.timeout);
  const signal = checkSignal(what, o.signal);
  if (o.blocking !== undefined && typeof o.blocking !== 'boolean') {
    throw new TypeError(`${what}: blocking must be a boolean, got ${describe(o.blocking)}`);
  }
  if (o.block !== undefined && typeof o.block !== 'boolean') {
    throw new TypeError(`${what}: block must be a boolean (false: do not wait), got ${describe(o.block)}`);
  }
  return { timeout, signal, blocking: (o.blocking ?? o.block ?? true) as boolean };
}
