/**
 * Helpers for runtime adapters (`@threadkit/core/adapter`): behaviour that several adapters share,
 * written once here against structural types, since core imports no runtime.
 */
import { _clearTimeout, _setTimeout, type TimerHandle } from './_globals.js';

/** A child process as an adapter holds it (a Node or Deno `ChildProcess`). */
export interface EndableChild {
  kill(signal: 'SIGTERM'): unknown;
  once(event: 'exit', listener: () => void): unknown;
}

const daemons = new Set<EndableChild>();
let exitHookInstalled = false;

/**
 * Ends a daemon process when this program exits: a daemon does not keep the program alive, and
 * must not outlive it either. `onExit` installs the runtime's exit hook; it is called once.
 * @example endAtExit(child, (hook) => process.once('exit', hook));
 */
export function endAtExit(child: EndableChild, onExit: (hook: () => void) => void): void {
  daemons.add(child);
  child.once('exit', () => daemons.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  onExit(() => {
    for (const c of daemons) c.kill('SIGTERM');
  });
}

// ---------------------------------------------------------------------------
// Life locks. A Web Worker (in a browser or in Deno) gives no event when it ends, and runs on for
// a moment after `terminate()`; threadkit must not report it gone (and let go of what it held)
// while it still runs. So the worker holds a Web Lock for as long as it lives, and its parent
// reports its end once it can take that lock.

interface LockManagerLike {
  request(name: string, callback: () => unknown): Promise<unknown>;
  request(name: string, options: { signal?: unknown }, callback: () => unknown): Promise<unknown>;
}

const locks = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks;

/**
 * The key of a worker's first message from its parent: `{ [LIFE_KEY]: name }`, the name of the
 * Web Lock the worker holds for life (see {@link lifeName}, {@link afterLife}, {@link withLifeLock}).
 */
export const LIFE_KEY = '__threadkit_life__';

/** Tells this realm's life locks from those of other realms that share the lock manager (pages of one origin). */
const realm = Math.random().toString(36).slice(2);
let lives = 0;

/** A new life-lock name, for the first message to a new worker: `{ [LIFE_KEY]: lifeName() }`. */
export function lifeName(): string {
  return `threadkit:${realm}:${++lives}`;
}

/**
 * Parent side: calls `then` once the worker that holds the life lock `name` is really gone
 * (where Web Locks are missing, as in a page that is not a secure context, on a later turn), or
 * once `graceMs` have passed, for a runtime that may never stop a worker busy in a loop.
 */
export function afterLife(name: string, then: () => void, graceMs = Number.POSITIVE_INFINITY): void {
  if (!locks) {
    _setTimeout(then, 0);
    return;
  }
  let done = false;
  let timer: TimerHandle | undefined;
  const controller = Number.isFinite(graceMs) && typeof AbortController === 'function' ? new AbortController() : undefined;
  const finish = (): void => {
    if (done) return;
    done = true;
    _clearTimeout(timer);
    controller?.abort();
    then();
  };
  // Given back once `then` has run (a held lock keeps Deno alive): a worker stopped before it took
  // its lock may take it afterwards, but by then its parent has marked it dead, and core's worker
  // loop does nothing for a worker marked dead (see runWorker's 'init').
  const request = controller ? locks.request(name, { signal: controller.signal }, finish) : locks.request(name, finish);
  // Aborted once the grace ran out; refused (an opaque origin has no lock manager to offer): do not wait.
  request.catch(finish);
  if (Number.isFinite(graceMs)) timer = _setTimeout(finish, graceMs);
}

/**
 * Worker side: wraps the worker's message handler. The parent's first message names the life
 * lock, which the worker then holds until it is gone; nothing else is handled before it is held,
 * so a worker reported gone can have done nothing unseen.
 */
export function withLifeLock(handler: (data: unknown) => void): (data: unknown) => void {
  let early: unknown[] | undefined = [];
  const live = (): void => {
    const queued = early ?? [];
    early = undefined;
    for (const data of queued) handler(data);
  };
  return (data) => {
    if (typeof data === 'object' && data !== null && LIFE_KEY in data) {
      if (!locks) return live();
      locks
        .request(String((data as Record<string, unknown>)[LIFE_KEY]), () => {
          live();
          return new Promise<never>(() => {}); // held until the worker is gone
        })
        .catch(live); // refused: run without it, as where Web Locks are missing
      return;
    }
    if (early) early.push(data);
    else handler(data);
  };
}
