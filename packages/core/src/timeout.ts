/** Argument checks shared by everything that waits. */

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
