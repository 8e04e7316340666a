/**
 * The worker side of every runtime: an adapter's worker entry builds a {@link WorkerScope}
 * and calls {@link runWorker}; from then on core answers the parent's messages.
 */
import { serializeError, type SerializedError } from './errors.js';
import { explainCloneError, isCloneFailure } from './clone.js';
import { _now, _setTimeout } from './_globals.js';
import { envelope, unwrap, type FailureKind, type FromWorker, type PoolFailure, type RunMessage, type TargetSpec, type ToWorker } from './protocol.js';
import type { AnyFunction } from './task.js';
import { _ExitSignal, _enterWorker, _setCurrentThread } from './current-thread.js';
import { _setCpus } from './futex.js';
import { _setRealmTag, isDead } from './tags.js';
import type { WorkerScope } from './runtime.js';
import { Endpoint } from './rpc.js';
import { revive } from './handle.js';
import './primitives.js';
import { hasPending, publishAll } from './publish.js';
import { PoolRunner, _setRunner } from './pool/worker.js';
import { findTaskModule } from './module-url.js';

export type { WorkerScope } from './runtime.js';
/** The protocol's envelope, for adapters that must read a message's kind (e.g. to pick a worker entry by its first task). */
export { unwrap } from './protocol.js';
/** The first task a message asks for (a Thread's `run`, or a Pool's first target), for adapters that pick a worker entry by it. */
export { firstTarget } from './protocol.js';
/** Which file a task module's URL stands for (its compiled form where its source is not there), for a worker that imports task modules on its own. */
export { findTaskModule, standIns } from './module-url.js';
/** For a worker entry that is run on its own (not by threadkit). */
export { InvalidStateError } from './errors.js';
export type { ToWorker, FromWorker } from './protocol.js';

class TaskFailure {
  constructor(
    readonly kind: FailureKind,
    readonly error: unknown,
    readonly exports?: readonly string[],
  ) {}
}

/** How a task failed, as the protocol carries it. */
function describeFailure(error: unknown, target: TargetSpec): PoolFailure {
  const failure =
    error instanceof TaskFailure
      ? error
      : new TaskFailure(target.kind === 'source' && error instanceof ReferenceError && /is not defined/.test(error.message) ? 'source' : 'threw', error);
  let serialized: SerializedError = serializeError(failure.error);
  if (failure.kind === 'source') {
    serialized = {
      ...serialized,
      message: `${serialized.message}: inline target \`${target.name}\` is sent to the worker as source text, so it cannot use variables from the scope it was written in; pass them in args, or export the function from a task module and use taskModule()`,
    };
  }
  return { kind: failure.kind, error: serialized, ...(failure.exports ? { exports: failure.exports } : {}) };
}

/** Hands control of this worker to core: run tasks the parent sends until it says close. */
export function runWorker(scope: WorkerScope): void {
  const modules = new Map<string, Promise<Record<string, unknown>>>();
  const compiled = new Map<string, AnyFunction>();
  let running = 0;
  let closing = false;
  let ended = false;
  /** Set when the parent makes this a pool worker. */
  let runner: PoolRunner | undefined;

  // Whatever a task put is published before anyone hears how it ended.
  const post = (message: FromWorker): void => {
    publishAll();
    scope.post(envelope(message));
  };
  const endpoint = new Endpoint(post);

  const end = (code: number): void => {
    if (ended) return;
    ended = true;
    publishAll();
    if (!hasPending()) {
      scope.exit(code);
      return;
    }
    // A queue's memory is full: the items put are published as consumers make room, then it exits.
    const retry = (): void => {
      publishAll();
      if (hasPending()) _setTimeout(retry, 1);
      else scope.exit(code);
    };
    retry();
  };

  /**
   * The worker's work is done: it ends once the calls it made without waiting (a release, a set,
   * a send through a proxy) have been answered, so an owner's refusal of one surfaces here as an
   * escaped error (one turn later, as an unhandled rejection) rather than die unseen with it.
   */
  const finish = (): void => {
    if (ended) return;
    void endpoint.fired().then(() => _setTimeout(() => end(0), 0));
  };

  _enterWorker(scope, (code) => {
    if (ended) return;
    // A pool worker's finished tasks are reported before it goes, with how many it had taken:
    // the parent then knows which of the tasks it sent never started.
    const taken = runner?.halt();
    post({ t: 'exit', code, taken });
    end(code);
  });

  scope.onUncaught((error) => {
    if (ended || error instanceof _ExitSignal) return;
    const taken = runner?.halt();
    post({ t: 'uncaught', error: serializeError(error), taken });
    end(1);
  });

  const load = (url: string): Promise<Record<string, unknown>> => {
    let mod = modules.get(url);
    if (!mod) {
      // A source named but not there: its compiled form (see module-url.ts).
      const exists = scope.exists?.bind(scope);
      mod = exists ? (async () => scope.importModule(findTaskModule(url, exists)))() : scope.importModule(url);
      modules.set(url, mod);
    }
    return mod;
  };

  const resolve = async (target: TargetSpec): Promise<AnyFunction> => {
    if (target.kind === 'source') {
      let fn = compiled.get(target.source);
      if (!fn) {
        fn = compile(target.source, target.name);
        compiled.set(target.source, fn);
      }
      return fn;
    }
    let mod: Record<string, unknown>;
    try {
      mod = await load(target.url);
    } catch (error) {
      throw new TaskFailure('load', error);
    }
    // A CommonJS task module (one a loader such as tsx runs as CommonJS) may give its exports only as `default`.
    const cjs = typeof mod.default === 'object' && mod.default !== null ? (mod.default as Record<string, unknown>) : undefined;
    const fn = typeof mod[target.name] === 'function' || !cjs ? mod[target.name] : cjs[target.name];
    if (typeof fn !== 'function') {
      const exports = [
        ...new Set([...Object.keys(mod).filter((k) => typeof mod[k] === 'function'), ...Object.keys(cjs ?? {}).filter((k) => typeof cjs![k] === 'function')]),
      ].sort();
      throw new TaskFailure('not-found', new Error(`no exported function ${target.name}`), exports);
    }
    return fn as AnyFunction;
  };

  const run = async (message: RunMessage): Promise<void> => {
    // The clock starts once the module is loaded: a timeline shows the task, not the import.
    let started = _now();
    let value: unknown;
    try {
      const fn = await resolve(message.target);
      const args = revive(message.args, endpoint) as unknown[];
      started = _now();
      value = await fn(...args);
    } catch (error) {
      if (error instanceof _ExitSignal) return;
      post({ t: 'failure', id: message.id, ...describeFailure(error, message.target), started, ended: _now() });
      return;
    }
    const done = _now();
    try {
      post({ t: 'result', id: message.id, value, started, ended: done });
    } catch (error) {
      if (!isCloneFailure(error)) throw error;
      post({
        t: 'failure',
        id: message.id,
        kind: 'clone',
        error: serializeError(explainCloneError(`Cannot return the result of ${message.target.name}`, value, 'result', error)),
        started,
        ended: done,
      });
    }
  };

  /** This thread's parent already reported it gone (see below): it does nothing, and ends. */
  let disowned = false;

  scope.onMessage((data) => {
    const message = unwrap<ToWorker>(data);
    if (!message || disowned) return;
    if (message.t === 'init') {
      _setCurrentThread({ name: message.name, kind: message.kind, ident: message.ident });
      _setRealmTag(message.tag, message.tagCounter, message.deadTags);
      _setCpus(message.cpus);
      // A worker stopped while it was starting may still get to run a little (a Web Worker under
      // Deno, which runs on after terminate()); if its parent has already reported it gone, and let
      // go of what it held, it must not start anything.
      if (isDead(message.tag)) {
        disowned = true;
        end(1);
      }
    } else if (message.t === 'rpc-call' || message.t === 'rpc-reply' || message.t === 'rpc-cancel' || message.t === 'rpc-ack') {
      endpoint.receive(message);
    } else if (message.t === 'run') {
      running++;
      void run(message).finally(() => {
        running--;
        if (closing && running === 0 && !runner?.busy) finish();
      });
    } else if (message.t === 'tasks') {
      (runner ??= makeRunner(undefined)).receive(message);
    } else if (message.t === 'cancel') {
      runner?.cancel(message.id, message.reason, message.message);
    } else if (message.t === 'pool') {
      runner ??= makeRunner(message.control);
    } else if (message.t === 'close') {
      closing = true;
      if (running === 0 && !runner?.busy) finish();
    }
  });

  const makeRunner = (control: Int32Array | undefined): PoolRunner => {
    const made = new PoolRunner(
      {
        resolve,
        revive: (value) => revive(value, endpoint),
        failure: describeFailure,
        post,
        idle: () => {
          if (closing && running === 0) finish();
        },
        isExit: (error) => error instanceof _ExitSignal,
        ...(scope.progress ? { progress: (count: number) => scope.progress!(count) } : {}),
      },
      control,
    );
    _setRunner(made);
    return made;
  };

  post({ t: 'ready' });
}

/** Compiles an inline target's source text in the worker's global scope. */
function compile(source: string, name: string): AnyFunction {
  // `__name` is what esbuild-based tools (tsx, vitest) insert into function bodies to keep names.
  const make = (body: string): unknown => new Function('__name', `"use strict"; return (${body});`)((f: unknown) => f);
  let fn: unknown;
  try {
    fn = make(source);
  } catch {
    // Method shorthand (`{ f(a) { ... } }.f`) prints as `f(a) { ... }`, which is not an expression.
    try {
      fn = (make(`{ ${source} }`) as Record<string, unknown>)[name];
    } catch (error) {
      throw new TaskFailure(
        'source',
        new SyntaxError(`Cannot compile inline target ${name} from its source text (${error instanceof Error ? error.message : String(error)})`),
      );
    }
  }
  if (typeof fn !== 'function') throw new TaskFailure('source', new TypeError(`inline target ${name} did not compile to a function`));
  return fn as AnyFunction;
}
