/**
 * The codec of threadkit's shared-memory Queue and Pipe (`@threadkit/core/codec`): values to
 * bytes and back, with structured clone's fidelity at several times its speed. The wire format
 * is described in `format.ts`.
 *
 * ```ts
 * const encoder = new Encoder();
 * const bytes = encoder.encode(value, 'item');   // a view into the encoder's scratch buffer
 * const shared = encoder.takeShared();           // SharedArrayBuffers the payload refers to
 *
 * const decoder = new Decoder();
 * const copy = decoder.decode(bytes, shared);
 * ```
 */
export { Encoder, type EncoderOptions } from './encode.js';
export { Decoder, type DecoderOptions } from './decode.js';
export { marshal, registerReviver, type Marshallable, type Marshalled, type Reviver } from './marshal.js';
