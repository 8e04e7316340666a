/**
 * threadkit objects inside `args`: a Queue, Lock, Event or Pipe end passed to a thread must
 * arrive as a working handle to the same object. Before args are posted, {@link marshal}
 * replaces each such object with a descriptor: its shared memory where the receiver shares
 * memory with us, else an id the receiver calls through the channel's {@link Endpoint}. On the
 * other side {@link revive} turns descriptors back into objects.
 */
import { ThreadkitError } from './errors.js';
import { marshal as MARSHAL, _registerOwnReviver, revivers, type Marshalled } from './codec/marshal.js';
import type { Endpoint } from './rpc.js';

// The method a shareable object implements to describe itself for another realm: the codec's
// `marshal` symbol (`codec/marshal.ts`), one symbol for `args` and for encoded values alike.
export { MARSHAL };
export type { Marshalled };

/** Where a marshalled object is going. */
export interface MarshalContext {
  /** The receiver shares memory with us (a thread, where SharedArrayBuffer exists). */
  readonly shared: boolean;
  /** The channel to the receiver, for objects that must be reached by messages. */
  readonly endpoint: Endpoint;
  /** Every object handed over, so the sender can clean up after a receiver that dies. */
  readonly sent?: Set<object>;
}

/** An object that can cross to another realm as a handle. */
export interface Shareable {
  [MARSHAL](ctx: MarshalContext): Marshalled;
}

/** Rebuilds an object on the receiving side; `endpoint` is the channel it arrived through. */
export type Reviver = (data: unknown, endpoint: Endpoint) => object;

/**
 * Registers how one of threadkit's shareable types is rebuilt on the receiving side: in the
 * codec's one registry (`codec/marshal.ts`), which {@link revive} and every `Decoder` consult,
 * under a name users may not take over. {@link revive} passes the channel's endpoint as the
 * reviver's context.
 */
export const registerReviver = _registerOwnReviver as (type: string, reviver: Reviver) => void;

const KEY = '__threadkit_handle__';

function isShareable(value: object): value is Shareable {
  return typeof (value as Partial<Shareable>)[MARSHAL] === 'function';
}

function isPlain(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Replaces shareable objects inside `value` (at any depth in arrays and plain objects) with
 * descriptors. Containers are copied only when something inside them changed.
 */
export function marshal(value: unknown, ctx: MarshalContext, depth = 0): unknown {
  if (typeof value !== 'object' || value === null || depth > 32) return value;
  if (isShareable(value)) {
    ctx.sent?.add(value);
    return { [KEY]: value[MARSHAL](ctx) };
  }
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      const m = marshal(v, ctx, depth + 1);
      if (m !== v) (out ??= value.slice())[i] = m;
    }
    return out ?? value;
  }
  if (!isPlain(value)) return value;
  let out: Record<string, unknown> | undefined;
  for (const key of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[key];
    const m = marshal(v, ctx, depth + 1);
    if (m !== v) (out ??= { ...(value as Record<string, unknown>) })[key] = m;
  }
  return out ?? value;
}

/** Turns the descriptors {@link marshal} made back into objects. */
export function revive(value: unknown, endpoint: Endpoint, depth = 0): unknown {
  if (typeof value !== 'object' || value === null || depth > 32) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = revive(value[i], endpoint, depth + 1);
    return value;
  }
  if (!isPlain(value)) return value;
  const record = value as Record<string, unknown>;
  const handle = record[KEY] as Marshalled | undefined;
  if (handle !== undefined && typeof handle === 'object' && handle !== null && typeof handle.type === 'string') {
    const reviver = revivers.get(handle.type);
    if (!reviver) throw new ThreadkitError(`threadkit internal error: no reviver for a ${handle.type}`);
    return reviver(handle.data, endpoint);
  }
  for (const key of Object.keys(record)) record[key] = revive(record[key], endpoint, depth + 1);
  return value;
}
