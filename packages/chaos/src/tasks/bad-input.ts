/** Tasks for the bad-input table: plain targets, and mistakes made inside a worker. */
import { type Condition, Lock, Semaphore, exit, type Queue } from '@threadkit/node';

export function noop(): void {}

export function square(x: number): number {
  return x * x;
}

export function add(a: number, b: number): number {
  return a + b;
}

/** Ends the worker with `code` by exit(). */
export function exitWith(code: number): never {
  exit(code);
}

/** Throws an error nobody will observe. */
export function fail(): never {
  throw new Error('an unobserved failure');
}

/** How a mistake inside a worker ended: what it threw (its class name, code and message), or that nothing was thrown. */
export type Caught = { readonly threw: false } | { readonly threw: true; readonly name: string; readonly code: unknown; readonly message: string };

/** The mistakes made inside a worker, by name; objects come from the main thread in `args`. */
const mistakes: Record<string, (objects: { queue: Queue; lock: Lock; sem: Semaphore; cond: Condition }) => unknown> = {
  "new Semaphore('3')": () => new Semaphore('3' as never),
  "new Lock('x')": () => new (Lock as unknown as new (x: unknown) => Lock)('x'),
  "queue.put(1, { block: 'no' })": ({ queue }) => queue.put(1, { block: 'no' as never }),
  "queue.get({ timeout: 'x' })": ({ queue }) => queue.get({ timeout: 'x' as never }),
  'queue.put(() => 1)': ({ queue }) => queue.put(() => 1),
  'lock.acquire({ timeout: -1 })': ({ lock }) => lock.acquire({ timeout: -1 }),
  'lock.acquire({ timout: 5 })': ({ lock }) => lock.acquire({ timout: 5 } as never),
  'sem.release(2 ** 31 - 1)': ({ sem }) => sem.release(2 ** 31 - 1),
  'sem.release(0)': ({ sem }) => sem.release(0),
  'cond.notify(-1)': ({ cond }) => cond.notify(-1),
  "exit('x')": () => exit('x' as never),
  'exit(256)': () => exit(256),
};

export const MISTAKES = Object.keys(mistakes);

/** Makes the named mistake and reports what was thrown (or rejected). */
export async function mistake(name: string, queue: Queue, lock: Lock, sem: Semaphore, cond: Condition): Promise<Caught> {
  const make = mistakes[name];
  if (!make) throw new Error(`no mistake named ${name}`);
  try {
    await make({ queue, lock, sem, cond });
    return { threw: false };
  } catch (error) {
    const e = error as Error & { code?: unknown };
    return { threw: true, name: e?.constructor?.name ?? typeof error, code: e?.code, message: String(e?.message ?? error) };
  }
}
