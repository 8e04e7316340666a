/** What the conformance sections share: the fixture tasks, starting workers, choosing a transport. */
import { Process, Thread, currentTransport, taskModule, useTransport, type BaseThread, type ThreadOptions, type Transport, type WorkerKind } from '../index.js';
import type { AnyFunction } from '../task.js';

type Fixtures = typeof import('./fixtures/tasks.js');

/** The suite's task module (runtime-neutral JavaScript in core's dist). */
export const fixturesUrl = new URL('./fixtures/tasks.js', import.meta.url);
export const tasks = taskModule<Fixtures>(fixturesUrl);

/**
 * How long a test waits for a worker to reach a point it signals (it runs, it waits, it is done).
 * Not a speed expectation: on a loaded 2-core machine processes were seen to start 6–7 s apart,
 * and a worker that is merely slow must not fail a test; one that never gets there still does,
 * here with a message that says what was awaited, before the runners' own per-test limits (30 s
 * under vitest and bun test, 60 s under deno test).
 */
export const PATIENCE_MS = 25_000;

/** Resolves after `ms` milliseconds. */
export const sleepFor = (ms: number): Promise<void> =>
  new Promise<void>((resolve) => (globalThis as unknown as { setTimeout(f: () => void, ms: number): void }).setTimeout(resolve, ms));

/**
 * Waits until `check()` holds, polling every 10 ms; fails, naming `what`, after `ms`. For a state
 * the test can observe but not be told of (a pool's counts, a barrier's waiting parties).
 */
export async function until(what: string, check: () => boolean, ms = PATIENCE_MS): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await sleepFor(10);
  }
}

/** The display name of a worker kind. */
export const kindName = (kind: WorkerKind): string => (kind === 'process' ? 'Process' : 'Thread');

/** Starts a Thread or Process of the given kind. */
export function spawner(kind: WorkerKind): <F extends AnyFunction>(options: ThreadOptions<F>) => BaseThread<F> {
  return <F extends AnyFunction>(options: ThreadOptions<F>): BaseThread<F> => {
    const w = kind === 'process' ? new Process<F>(options) : new Thread<F>(options);
    w.start();
    return w;
  };
}

/** Creates objects under the transport being tested, then puts the previous one back. */
export function underTransport(transport: Transport): <T>(make: () => T) => T {
  return <T>(make: () => T): T => {
    const before = currentTransport();
    useTransport(transport);
    try {
      return make();
    } finally {
      useTransport(before);
    }
  };
}
