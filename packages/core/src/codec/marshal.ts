/**
 * The marshal hook: the one symbol under which a threadkit object (Queue, Lock, Pipe end…)
 * describes itself as a handle, and the one registry of revivers that rebuild it, both inside an
 * encoded value (the `Encoder` and {@link Decoder}) and inside a thread's `args`
 * (`../handle.ts`, whose `MARSHAL` and `registerReviver` are these).
 */
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

/** Registers how objects marshalled under `type` are rebuilt by every {@link Decoder}; a later registration replaces an earlier one. */
export function registerReviver(type: string, reviver: Reviver): void {
  revivers.set(type, reviver);
}
