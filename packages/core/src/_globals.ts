/**
 * The few host functions core uses beyond ECMAScript. Every runtime threadkit targets
 * (Node, Deno, Bun, browsers and their workers) has them; they are typed here so core's
 * tsconfig can keep `"types": []` and never see Node or DOM declarations.
 */

type TimerHandle = { unref?: () => unknown } | number;

interface HostGlobals {
  setTimeout(fn: () => void, ms?: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
  queueMicrotask(fn: () => void): void;
  structuredClone<T>(value: T): T;
  performance?: { now(): number; timeOrigin?: number };
}

const host = globalThis as unknown as HostGlobals;

/** `setTimeout` of the host. */
export const _setTimeout = (fn: () => void, ms: number): TimerHandle => host.setTimeout(fn, ms);
/** `clearTimeout` of the host. */
export const _clearTimeout = (handle: TimerHandle | undefined): void => host.clearTimeout(handle);
/** A timer that does not keep the program alive where the host supports that. */
export const _setWeakTimeout = (fn: () => void, ms: number): TimerHandle => {
  const handle = host.setTimeout(fn, ms);
  if (typeof handle === 'object' && typeof handle.unref === 'function') handle.unref();
  return handle;
};
/** `structuredClone` of the host. */
export const _structuredClone = <T>(value: T): T => host.structuredClone(value);

/** Wall-clock time in milliseconds with sub-millisecond precision where the host offers it, comparable across workers. */
export function _now(): number {
  const p = host.performance;
  if (p && typeof p.timeOrigin === 'number') return p.timeOrigin + p.now();
  return Date.now();
}

export type { TimerHandle };

/** `Symbol.asyncDispose` where the host has it, else the well-known fallback TypeScript's `await using` also uses. */
export const _asyncDispose = ((Symbol as { asyncDispose?: symbol }).asyncDispose ?? Symbol.for('Symbol.asyncDispose')) as typeof Symbol.asyncDispose;
