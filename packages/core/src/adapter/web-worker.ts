/**
 * Web Workers (a page's, Deno's): how their end is known. A Web Worker gives no event when it
 * ends, no exit code, and runs on for a moment after `terminate()`; threadkit must not report it
 * gone (and let go of what it held) while it still runs. So:
 * - the worker holds a Web Lock, its life lock, for as long as it lives, and its parent reports
 *   its end once it can take that lock ({@link lifeName}, {@link afterLife}, {@link withLifeLock});
 * - the worker's last message is its goodbye, `{ [EXIT_KEY]: code }`, posted just before it
 *   closes itself; messages keep their order, so everything it posted before has arrived by then.
 * {@link webWorkerEnd} is the parent side of both, {@link webWorkerScope} the worker side.
 */
import { _clearTimeout, _setTimeout, type TimerHandle } from '../_globals.js';
import type { WorkerEvents, WorkerScope } from '../runtime.js';

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

/**
 * The key of a worker's goodbye, its last message: `{ [EXIT_KEY]: code }`, for a runtime that
 * reports no exit code (a Web Worker) or no end that can be waited for (Deno's child processes:
 * see `lastWord` in child.ts).
 */
export const EXIT_KEY = '__threadkit_exit__';

/** Whether a message from a worker is its goodbye; its exit code is then `data[EXIT_KEY]`. */
export function isGoodbye(data: unknown): data is { readonly [EXIT_KEY]: number } {
  return typeof data === 'object' && data !== null && EXIT_KEY in data;
}

/** An error event as a global scope raises it: `error` (an uncaught exception) or `unhandledrejection`. */
export interface GlobalErrorEvent {
  readonly error?: unknown;
  readonly message?: string;
  readonly reason?: unknown;
  preventDefault(): void;
}

/** A global scope that raises uncaught errors and unhandled rejections as events (a Web Worker's; Deno's, in every realm). */
export interface ErrorEventTarget {
  addEventListener(type: 'error' | 'unhandledrejection', listener: (event: GlobalErrorEvent) => void): void;
}

/**
 * Worker side: hands `handler` every error that escapes all code, as `global` raises them.
 * Inside a worker the event still carries the error with its stack (the page would get
 * `error === null`); preventing the default keeps the runtime from also reporting it (a browser
 * to the page; Deno by printing it and exiting).
 */
export function catchUncaught(global: ErrorEventTarget, handler: (error: unknown) => void): void {
  global.addEventListener('error', (event) => {
    event.preventDefault();
    handler(event.error ?? new Error(event.message));
  });
  global.addEventListener('unhandledrejection', (event) => {
    event.preventDefault();
    handler(event.reason);
  });
}

/** A Web Worker's global scope, as its worker entry uses it. */
export interface WebWorkerGlobal {
  postMessage(data: unknown): void;
  close(): void;
  addEventListener(type: 'message', listener: (event: { readonly data: unknown }) => void): void;
  addEventListener(type: 'error' | 'unhandledrejection', listener: (event: GlobalErrorEvent) => void): void;
}

/**
 * Worker side: core's `WorkerScope` for a Web Worker. The parent's first message names the life
 * lock, and nothing is handled before it is held; uncaught errors travel in core's protocol;
 * `exit` posts the goodbye and closes the worker. It keeps `global.close` as it is now: an
 * adapter that makes the worker's own `close()` say goodbye too replaces it afterwards.
 */
export function webWorkerScope(global: WebWorkerGlobal, importModule: WorkerScope['importModule']): WorkerScope {
  const close = global.close.bind(global);
  return {
    post: (data) => global.postMessage(data),
    onMessage: (handler) => {
      const receive = withLifeLock(handler);
      global.addEventListener('message', (event) => receive(event.data));
    },
    onUncaught: (handler) => catchUncaught(global, handler),
    importModule,
    exit: (code) => {
      global.postMessage({ [EXIT_KEY]: code });
      close();
    },
  };
}

/** A Web Worker, as its parent holds it. */
export interface WebWorkerLike {
  postMessage(data: unknown): void;
  terminate(): void;
  addEventListener(type: 'message' | 'messageerror', listener: (event: { readonly data: unknown }) => void): void;
  addEventListener(type: 'error', listener: (event: GlobalErrorEvent) => void): void;
}

/** The parent side of a Web Worker's end: see {@link webWorkerEnd}. */
export interface WebWorkerEnd {
  /** Whether the worker has ended (its goodbye came, or it was ended): nothing more is posted to it. */
  readonly ended: boolean;
  /** Listens to the worker and names its life lock to it; called once, when it is created. */
  attach(worker: WebWorkerLike): void;
  /** Ends the worker, as `terminate()` and `kill()` do (`null`: no exit code); once. */
  end(code: number | null): void;
}

/**
 * Parent side: reports a Web Worker's end to core once. Until then core hears every message the
 * worker posts, but its goodbye, which ends it with that exit code. An `error` event means the
 * worker could not start (its entry failed to load: errors inside it travel in core's protocol):
 * it is reported as `failed(event)` describes it, and the worker ends with exit code 1. Once ended,
 * the worker is terminated and its exit reported when it has let go of its life lock, or after
 * `graceMs`, for a runtime that may never stop a worker busy in a loop; a worker never attached
 * (one started with its first task, which never came) is reported gone on a later turn.
 * @example
 * const life = webWorkerEnd(options.name, events, (event) => new Error(`${options.name} failed: ${event.message}`));
 * life.attach(new Worker(entry, { type: 'module' }));
 * return { ..., terminate: () => life.end(null), kill: () => life.end(null) };
 */
export function webWorkerEnd(
  name: string,
  events: WorkerEvents,
  failed: (event: GlobalErrorEvent) => unknown,
  graceMs = Number.POSITIVE_INFINITY,
): WebWorkerEnd {
  const life = lifeName();
  let worker: WebWorkerLike | undefined;
  let ended = false;
  let gone = false;
  const end = (code: number | null): void => {
    if (ended) return;
    ended = true;
    const report = (): void => {
      gone = true;
      events.exit(code);
    };
    if (!worker) {
      _setTimeout(report, 0);
      return;
    }
    worker.terminate();
    afterLife(life, report, graceMs);
  };
  const attach = (w: WebWorkerLike): void => {
    worker = w;
    w.addEventListener('message', ({ data }) => {
      if (gone) return;
      if (isGoodbye(data)) end(data[EXIT_KEY]);
      else events.message(data);
    });
    w.addEventListener('messageerror', () => {
      if (!gone) events.error(new Error(`a message from ${name} could not be deserialized here`));
    });
    w.addEventListener('error', (event) => {
      // Unhandled, it would reach the page (or end the whole program, on Deno).
      event.preventDefault();
      if (ended) return;
      events.error(failed(event));
      end(1);
    });
    w.postMessage({ [LIFE_KEY]: life });
  };
  return {
    get ended() {
      return ended;
    },
    attach,
    end,
  };
}
