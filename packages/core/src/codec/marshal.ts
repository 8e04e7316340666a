/**
 * The marshal hook: the one symbol under which a threadkit object (Queue, Lock, Pipe end…)
 * describes itself as a handle, and the one registry of revivers that rebuild it, both inside an
 * encoded value (the `Encoder` and {@link Decoder}) and inside a thread's `args`
 * (`../handle.ts`, whose `MARSHAL` and `registerReviver` are these).
 */
import { InvalidStateError } from '../errors.js';
import type { Decoder, DecoderOptions } from './decode.js';
import type { EncoderOptions } from './encode.js';

/**
 * The method under which a threadkit object (Queue, Lock, Pipe end…) describes itself when it
 * is inside an encoded value: `[marshal](context) → { type, data }`, where `data` is plain
 * codec-able data (it may contain SharedArrayBuffers). The decoder rebuilds the object with the
 * reviver registered for `type`.
 */
export const marshal: unique symbol = Symbol.for('threadkit.marshal') as never;

/** What an object's {@link marshal} method returns. */
export interface Marshalled {
  readonly type: string;
  readonly data: unknown;
}

/** An object that travels as a handle. `context` is the encoder's {@link EncoderOptions.context}. */
export interface Marshallable {
  [marshal](context?: unknown): Marshalled;
}

/**
 * Rebuilds a marshalled object; `context` is the decoder's {@link DecoderOptions.context} (for a
 * handle inside `args`, the endpoint of the channel it arrived through).
 */
// biome-ignore lint/suspicious/noExplicitAny: a reviver takes the data its type's marshal method wrote; with `unknown`, every reviver would have to cast it
export type Reviver = (data: any, context: unknown) => unknown;

/** Every reviver registered in this realm, by type: the {@link Decoder} and `revive()` in `../handle.ts` look them up here. */
export const revivers = new Map<string, Reviver>();

/** The types threadkit's own objects travel under (Lock, Queue…): a user's reviver may not take their place. */
const own = new Set<string>();

/**
 * Registers how objects marshalled under `type` are rebuilt by every {@link Decoder}; a later
 * registration replaces an earlier one. Refused for a name threadkit's own objects use.
 */
export function registerReviver(type: string, reviver: Reviver): void {
  if (typeof type !== 'string' || type === '') throw new TypeError(`Cannot register a reviver: type must be a non-empty string, got ${String(type)}`);
  if (typeof reviver !== 'function') throw new TypeError(`Cannot register a reviver for "${type}": reviver must be a function (data, context) => object`);
  if (own.has(type)) {
    throw new InvalidStateError(
      `Cannot register a reviver for "${type}": threadkit's own ${type} travels under that name; give your type a name of its own, such as "myapp.${type}"`,
    );
  }
  revivers.set(type, reviver);
}

/** Registers the reviver of one of threadkit's own types (see `registerShared`). */
export function _registerOwnReviver(type: string, reviver: Reviver): void {
  own.add(type);
  revivers.set(type, reviver);
}
