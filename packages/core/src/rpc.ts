/**
 * The message transport for shared objects: where two realms share no memory (an OS
 * process, a page without cross-origin isolation), a Queue, Lock or Pipe end lives in the
 * realm that owns it and the others hold proxies whose calls travel over the worker's channel.
 *
 * One `Endpoint` sits at each end of a parent–worker channel. It serves calls on the objects
 * it exported to the peer and sends calls on the peer's objects. When the peer is gone, calls
 * it was waiting in are cancelled, and values handed to it but not yet acknowledged (a `get`
 * whose reply was still in flight) are given back, so nothing is lost.
 */
import { AbortError, EOFError, ThreadkitError, reviveError, serializeError, type SerializedError } from './errors.js';
import { _nextTagNumber, currentCaller } from './tags.js';
import type { AbortSignalLike } from './futex.js';

/** The RPC messages, carried inside core's protocol envelope. */
export type RpcMessage =
  | { readonly t: 'rpc-call'; readonly cid: number; readonly oid: number; readonly method: string; readonly args: readonly unknown[]; readonly who: number }
  | { readonly t: 'rpc-reply'; readonly cid: number; readonly ok: true; readonly value: unknown; readonly ack: boolean }
  | { readonly t: 'rpc-reply'; readonly cid: number; readonly ok: false; readonly error: SerializedError }
  | { readonly t: 'rpc-cancel'; readonly cid: number }
  | { readonly t: 'rpc-ack'; readonly cid: number };

/** An object that can be served: it names the methods a peer may call. */
export interface Servable {
  /** Runs a method for a peer. `who` is a tag unique to the calling realm; `signal` aborts when the peer cancels or dies. */
  _serve(method: string, args: readonly unknown[], who: number, signal: AbortSignalLike): Promise<unknown> | unknown;
  /** Whether a method hands the caller something (an item) that must come back if the caller dies before it arrives. */
  _handsOver?(method: string): boolean;
  /** A call for a caller that died ended in an error: undo what it may have taken on its way out. */
  _abandoned?(method: string, who: number): void;
  /**
   * Takes back a value whose delivery to a dead peer was never acknowledged (`who`: the dead
   * caller). `delivered`: the answer was sent, so the caller may have had it (and used it) before
   * it died; false when it died before the answer went out.
   */
  _giveBack?(method: string, value: unknown, who: number, delivered: boolean): void;
}

/** A minimal AbortSignal (core stays free of DOM types; every runtime's listeners look like this). */
export class Aborter implements AbortSignalLike {
  aborted = false;
  /** A wait served for another realm keeps nothing alive: a daemon thread waiting on a queue must not hold the program. */
  readonly keepsAlive = false;
  reason: unknown;
  #listeners = new Set<() => void>();
  abort(reason?: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    for (const l of [...this.#listeners]) l();
    this.#listeners.clear();
  }
  addEventListener(_type: 'abort', listener: () => void): void {
    if (this.aborted) listener();
    else this.#listeners.add(listener);
  }
  removeEventListener(_type: 'abort', listener: () => void): void {
    this.#listeners.delete(listener);
  }
}

interface Outgoing {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  cleanup(): void;
}

interface Served {
  readonly aborter: Aborter;
  readonly obj: Servable;
  readonly method: string;
  readonly who: number;
  /** Set once replied with a value that must be acknowledged. */
  unacked?: { readonly value: unknown };
}

/** One end of a parent–worker channel, serving and calling shared objects. */
export class Endpoint {
  #objects = new Map<number, Servable>();
  #ids = new WeakMap<object, number>();
  #nextOid = 1;
  #outgoing = new Map<number, Outgoing>();
  #nextCid = 1;
  #served = new Map<number, Served>();
  #peerTags = new Map<number, number>();
  #closed: Error | undefined;

  constructor(private readonly send: (message: RpcMessage) => void) {}

  /** Makes an object callable by the peer; returns its id there. */
  export(obj: Servable): number {
    let id = this.#ids.get(obj);
    if (id === undefined) {
      id = this.#nextOid++;
      this.#ids.set(obj, id);
      this.#objects.set(id, obj);
    }
    return id;
  }

  /** Calls a method on the peer's object `oid`. Rejects with `closedError` once the peer is gone. */
  call(oid: number, method: string, args: readonly unknown[], signal?: AbortSignalLike): Promise<unknown> {
    if (this.#closed) return Promise.reject(this.#closed);
    // An AbortSignal that has already aborted fires no listener added now.
    if (signal?.aborted) return Promise.reject(new AbortError(`Cannot call ${method}: aborted`, { cause: signal.reason }));
    const cid = this.#nextCid++;
    return new Promise((resolve, reject) => {
      let onAbort: (() => void) | undefined;
      if (signal) {
        onAbort = () => this.send({ t: 'rpc-cancel', cid });
        signal.addEventListener('abort', onAbort, { once: true });
      }
      this.#outgoing.set(cid, {
        resolve,
        reject,
        cleanup: () => {
          if (onAbort) signal?.removeEventListener('abort', onAbort);
        },
      });
      try {
        // The caller's identity, even when this realm forwards a call for another (a proxy passed on).
        this.send({ t: 'rpc-call', cid, oid, method, args, who: currentCaller() });
      } catch (error) {
        this.#outgoing.get(cid)?.cleanup();
        this.#outgoing.delete(cid);
        reject(error);
      }
    });
  }

  /**
   * Calls a method on the peer's object `oid` whose caller does not wait for the answer (a release,
   * a set, a send): a message that cannot be sent throws here, at once; the returned promise
   * settles with the peer's answer (rejecting with `closedError` once the peer is gone).
   */
  fire(oid: number, method: string, args: readonly unknown[]): Promise<unknown> {
    if (this.#closed) return Promise.reject(this.#closed);
    const cid = this.#nextCid++;
    const answer = new Promise((resolve, reject) => this.#outgoing.set(cid, { resolve, reject, cleanup: () => {} }));
    try {
      this.send({ t: 'rpc-call', cid, oid, method, args, who: currentCaller() });
    } catch (error) {
      this.#outgoing.delete(cid);
      answer.catch(() => {});
      throw error;
    }
    this.#fired.add(answer);
    const forget = (): void => void this.#fired.delete(answer);
    answer.then(forget, forget);
    return answer;
  }

  /** The answers of {@link fire} calls still awaited. */
  #fired = new Set<Promise<unknown>>();

  /** Resolves once every {@link fire} call made so far has been answered (or the peer is gone). */
  async fired(): Promise<void> {
    while (this.#fired.size > 0) await Promise.allSettled([...this.#fired]);
  }

  /** Handles an RPC message from the peer. */
  receive(message: RpcMessage): void {
    switch (message.t) {
      case 'rpc-call':
        return void this.#serve(message);
      case 'rpc-cancel':
        this.#served.get(message.cid)?.aborter.abort();
        return;
      case 'rpc-ack':
        this.#served.delete(message.cid);
        return;
      case 'rpc-reply': {
        const out = this.#outgoing.get(message.cid);
        if (!out) return;
        this.#outgoing.delete(message.cid);
        out.cleanup();
        if (message.ok) {
          if (message.ack) this.send({ t: 'rpc-ack', cid: message.cid });
          out.resolve(message.value);
        } else {
          out.reject(reviveError(message.error));
        }
      }
    }
  }

  async #serve(message: Extract<RpcMessage, { t: 'rpc-call' }>): Promise<void> {
    const obj = this.#objects.get(message.oid);
    if (!obj) {
      this.send({
        t: 'rpc-reply',
        cid: message.cid,
        ok: false,
        error: serializeError(new ThreadkitError(`threadkit internal error: no shared object ${message.oid}`)),
      });
      return;
    }
    let who = this.#peerTags.get(message.who);
    if (who === undefined) this.#peerTags.set(message.who, (who = nextTag()));
    const served: Served = { aborter: new Aborter(), obj, method: message.method, who };
    this.#served.set(message.cid, served);
    try {
      const value = await obj._serve(message.method, message.args, who, served.aborter);
      if (this.#closed) {
        // The peer died while we worked for it: what we got for it (an item, a lock) goes back.
        if (obj._handsOver?.(message.method)) obj._giveBack?.(message.method, value, who, false);
        return;
      }
      const ack = obj._handsOver?.(message.method) === true;
      if (ack) served.unacked = { value };
      else this.#served.delete(message.cid);
      this.send({ t: 'rpc-reply', cid: message.cid, ok: true, value, ack });
    } catch (error) {
      this.#served.delete(message.cid);
      // A served wait that the caller's death aborted may still have taken something back for it
      // on its way out (a Condition.wait re-takes its lock): give that back too.
      if (this.#closed) {
        obj._abandoned?.(message.method, who);
        return;
      }
      this.send({ t: 'rpc-reply', cid: message.cid, ok: false, error: serializeError(error) });
    }
  }

  /** The peer is gone: reject what we wait for, cancel what we do for it, take back what it never acknowledged. */
  close(error: Error = new EOFError('The other side of the channel is gone')): void {
    if (this.#closed) return;
    this.#closed = error;
    for (const out of this.#outgoing.values()) {
      out.cleanup();
      out.reject(error);
    }
    this.#outgoing.clear();
    for (const served of this.#served.values()) {
      served.aborter.abort(error);
      if (served.unacked) served.obj._giveBack?.(served.method, served.unacked.value, served.who, true);
    }
    this.#served.clear();
  }

  /** The tags this endpoint gave the peer's callers (what they hold is theirs). */
  peerTags(): number[] {
    return [...this.#peerTags.values()];
  }

  /** Whether the peer is gone. */
  get closed(): boolean {
    return this.#closed !== undefined;
  }
}

/**
 * A tag for a realm that calls through an endpoint: negative, so never a local thread's, and
 * drawn from the counter every thread of this OS process shares, so two threads serving callers
 * of their own never give two callers the same tag in memory they share.
 */
export function nextTag(): number {
  return -_nextTagNumber();
}
