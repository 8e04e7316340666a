/**
 * What every shared object (Lock, Event, Queue, Pipe end…) has in common: its state is a
 * block of Int32 words, in shared memory where threads can share it, or in ordinary memory
 * owned by one realm that the others reach through proxies. Subclasses write their logic
 * once, against `this.mem`, and name the methods a proxy may call in `_serve`.
 */
import { AbortError, DataCloneError, EOFError, UnsupportedError } from './errors.js';
import { allocate, hasSharedMemory, isShared, type AbortSignalLike } from './futex.js';
import { MARSHAL, registerReviver, type MarshalContext, type Marshalled, type Shareable } from './handle.js';
import type { Endpoint, Servable } from './rpc.js';
import { currentTransport } from './transport.js';
import { describe } from './validate.js';

/** Options every waiting method takes. */
export interface WaitOptions {
  /** Milliseconds to wait at most; absent means forever. */
  readonly timeout?: number;
  /** Aborts the wait; the method then rejects with `AbortError` carrying the signal's reason. */
  readonly signal?: AbortSignalLike;
}

/** How a shared object was made: new, over memory another realm shared, or as a proxy. */
export type Origin =
  | { readonly kind: 'new'; readonly words: number; readonly bytes?: number }
  | { readonly kind: 'shared'; readonly buffer: ArrayBuffer }
  | { readonly kind: 'remote'; readonly endpoint: Endpoint; readonly oid: number };

/** The origins made here for revived objects: a constructor tells them from a user's argument by identity, not by shape. */
const revived = new WeakSet<object>();

/** Whether `value` is an origin made by {@link registerShared} for an object revived in this realm. */
export function isOrigin(value: unknown): value is Origin {
  return typeof value === 'object' && value !== null && revived.has(value);
}

function revivedOrigin(origin: Origin): Origin {
  revived.add(origin);
  return origin;
}

/**
 * Refuses arguments given to a constructor that takes none from users (`new Lock()`), other than
 * the origin of a revived object.
 */
export function checkNoArguments(name: string, args: readonly unknown[]): void {
  if (args.length === 0 || (args.length === 1 && (args[0] === undefined || isOrigin(args[0])))) return;
  const given = args.map((a) => describe(a)).join(', ');
  throw new TypeError(`Cannot create ${name}: it takes no arguments (as Python's ${name}() takes none), got ${given}`);
}

/** The descriptor a shared object travels as. */
export type SharedData =
  | { readonly via: 'shared'; readonly buffer: ArrayBuffer; readonly extra: unknown }
  | { readonly via: 'remote'; readonly oid: number; readonly extra: unknown };

/** Allocates memory for a new object under the transport in force. */
function newMemory(words: number, bytes: number, what: string): ArrayBuffer {
  const choice = currentTransport();
  if (choice === 'shared' && !hasSharedMemory) {
    throw new UnsupportedError(
      `Cannot create ${what} on shared memory: SharedArrayBuffer is not available here (a page must be cross-origin isolated, with COOP and COEP headers); use the 'auto' or 'message' transport`,
    );
  }
  return allocate(words * 4 + bytes, choice !== 'message');
}

/** The base of every shared object. */
export abstract class SharedObject implements Shareable, Servable {
  /** The state words; undefined on a proxy. */
  protected readonly mem: Int32Array | undefined;
  /** The whole buffer (words, then any byte region); undefined on a proxy. */
  protected readonly buffer: ArrayBuffer | undefined;
  /** Where a proxy's calls go; undefined on an object that has its memory. */
  protected readonly remote: { readonly endpoint: Endpoint; readonly oid: number } | undefined;

  constructor(origin: Origin) {
    if (origin.kind === 'remote') {
      this.remote = { endpoint: origin.endpoint, oid: origin.oid };
      return;
    }
    const buffer = origin.kind === 'new' ? newMemory(origin.words, origin.bytes ?? 0, this.constructor.name) : origin.buffer;
    this.buffer = buffer;
    this.mem = new Int32Array(buffer, 0, origin.kind === 'new' ? origin.words : undefined);
  }

  /** The registered type name used to revive this object elsewhere. */
  protected abstract get typeName(): string;

  /** Extra plain data a revived copy needs (e.g. a Condition's lock). */
  protected extra(_ctx: MarshalContext): unknown {
    return undefined;
  }

  /** Whether this object's memory is shared between threads. */
  get sharedMemory(): boolean {
    return this.mem !== undefined && isShared(this.mem);
  }

  [MARSHAL](ctx: MarshalContext): Marshalled {
    if (!ctx || !(ctx as Partial<MarshalContext>).endpoint) {
      // Inside a queue item or a pipe message: those travel as bytes, which cannot carry a handle.
      throw new DataCloneError(
        `a ${this.constructor.name} cannot travel inside a queue item or a pipe message; pass it to the thread or process in args instead`,
        '',
      );
    }
    const extra = this.extra(ctx);
    if (this.mem && this.buffer && ctx.shared && isShared(this.mem)) {
      return { type: this.typeName, data: { via: 'shared', buffer: this.buffer, extra } satisfies SharedData };
    }
    this.onExport(ctx);
    return { type: this.typeName, data: { via: 'remote', oid: ctx.endpoint.export(this), extra } satisfies SharedData };
  }

  /** Called when this object is handed to another realm that will reach it by messages. */
  protected onExport(_ctx: MarshalContext): void {}

  /** Calls a method of the real object from a proxy. */
  protected call(method: string, args: readonly unknown[], signal?: AbortSignalLike): Promise<unknown> {
    const remote = this.remote!;
    return remote.endpoint.call(remote.oid, method, args, signal);
  }

  /**
   * Calls a method of the real object from a proxy without waiting (a release, a set, a send): it
   * cannot throw what the owner refuses, so a refusal surfaces in this realm as an unhandled
   * rejection (in a worker, the error that escaped its task), never silently. A message that
   * cannot be sent throws at once; a channel already gone is ignored, as the owner is.
   */
  protected fire(method: string, args: readonly unknown[]): void {
    const remote = this.remote!;
    remote.endpoint.fire(remote.oid, method, args).catch((error: unknown) => {
      if (error instanceof EOFError) return;
      throw error;
    });
  }

  /**
   * The realms `tags` ended: a worker this object was handed to died, with the threads it had
   * started and the callers it had served through its channel. What they held is let go (a
   * Lock's owner, a Semaphore's permits, a Queue's unpublished puts). Called by the worker link.
   */
  onHolderDied(tags: readonly number[]): void {
    for (const who of tags) this._releaseIfHeldBy(who);
  }

  /**
   * Lets go of what the realm `who` holds: because it died (`died`), or because it never got to
   * use what it was handed. Returns whether it held anything. Objects that record holders override it.
   */
  _releaseIfHeldBy(_who: number, _died = true): boolean {
    return false;
  }

  /** Runs a method for a proxy in another realm. */
  abstract _serve(method: string, args: readonly unknown[], who: number, signal: AbortSignalLike): Promise<unknown> | unknown;

  /** A clear error for a synchronous method a proxy cannot answer. */
  protected noSyncOnProxy(method: string, instead: string): Error {
    return new UnsupportedError(
      `${this.constructor.name}.${method}() needs shared memory, which this realm does not share with the ${this.constructor.name}'s owner (an OS process, or a page without cross-origin isolation): ${instead}`,
    );
  }
}

/** Registers the reviver of a shared object type: over shared memory, or as a proxy. */
export function registerShared(type: string, make: (origin: Origin, extra: unknown, endpoint: Endpoint) => object): void {
  registerReviver(type, (data, endpoint) => {
    const d = data as SharedData;
    return d.via === 'shared'
      ? make(revivedOrigin({ kind: 'shared', buffer: d.buffer }), d.extra, endpoint)
      : make(revivedOrigin({ kind: 'remote', endpoint, oid: d.oid }), d.extra, endpoint);
  });
}

/** A served call's options, with the abort signal that fires when the caller cancels or dies (a signal cannot travel, so the caller's own stays behind). */
export function withSignal(options: unknown, signal: AbortSignalLike): WaitOptions {
  return { ...(typeof options === 'object' && options !== null ? (options as WaitOptions) : {}), signal };
}

/** Throws the signal's reason as an AbortError when it has aborted. */
export function throwIfAborted(what: string, signal: AbortSignalLike | undefined): void {
  if (signal?.aborted) {
    throw new AbortError(
      `${what}: aborted${signal.reason instanceof Error ? `: ${signal.reason.message}` : signal.reason !== undefined ? `: ${String(signal.reason)}` : ''}`,
      { cause: signal.reason },
    );
  }
}

/** Strips the signal from options sent to the owner (a signal cannot be cloned; the proxy forwards its abort). */
export function sendable(options: WaitOptions | undefined): Omit<WaitOptions, 'signal'> | undefined {
  if (!options) return undefined;
  const { signal: _signal, ...rest } = options;
  return rest;
}
