/**
 * The codec of threadkit's shared-memory Queue and Pipe: it turns a JS value into bytes that
 * are copied into a SharedArrayBuffer ring, and turns those bytes back into a value in another
 * thread, with structured clone's fidelity (Map, Set, Date, RegExp, typed arrays, errors,
 * shared references and cycles) at several times its speed.
 *
 * ```ts
 * const encoder = new Encoder();
 * const bytes = encoder.encode(value, 'item');   // a view into the encoder's scratch buffer
 * const shared = encoder.takeShared();           // SharedArrayBuffers the payload refers to
 * ring.write(bytes);                             // the caller copies it once
 *
 * const decoder = new Decoder();
 * const copy = decoder.decode(ring.view(start, end), shared);
 * ```
 *
 * ## Wire format (one message; self-describing, so any decoder can read any message)
 *
 * Every value starts with a tag byte:
 *
 * | tag | value |
 * |---|---|
 * | `00`–`7f` | the integer 0–127 |
 * | `80`–`9f` | a Latin-1 string of 0–31 characters, one byte each |
 * | `e0`–`ff` | the integer −32…−1 |
 * | `a0`–`a3` | `undefined`, `null`, `false`, `true` |
 * | `a4` `a5` `a6` | uint8, int16, int32 (little-endian) |
 * | `a7` | float64 (covers NaN, −0, ±Infinity and every non-int32) |
 * | `a8` | BigInt: varint (byteLength·2 + sign), magnitude little-endian |
 * | `a9` | Latin-1 string: varint length, bytes |
 * | `aa` | UTF-8 string, possibly with lone surrogates (WTF-8): varint byteLength, bytes |
 * | `ab` | well-formed UTF-8 string: varint byteLength, bytes |
 * | `ac` | a run of array holes: varint count |
 * | `ad` | a back-reference: varint ordinal of an object met earlier in this message |
 * | `ae` | a SharedArrayBuffer: varint index into the side list |
 * | `c0` | object, defining a shape: varint byteLength, then (2 bytes of hash, varint n, n key strings) |
 * | `c2` | object of a shape defined earlier in this message: varint shape index |
 * | `c4` | object with inline keys (more than 64 keys): varint n, n × (key string, value) |
 * | `c6` | array: varint length, elements (`ac` for holes) |
 * | `c8` `ca` | Map (varint n, n × key, value), Set (varint n, n × value) |
 * | `cc` `cd` | Date (float64 time), RegExp (source string, flags string) |
 * | `ce` `cf` | ArrayBuffer (varint n, bytes), resizable ArrayBuffer (varint n, varint max, bytes) |
 * | `d0` | typed array or DataView: kind byte, varint byteOffset, varint length, then its buffer |
 * | `d1` | Error: then its {@link serializeError} form |
 * | `d2` | boxed primitive: then the primitive |
 * | `d3` | marshalled handle: type string, then its data |
 *
 * An object's keys are written once per message (`c0`); later objects with the same keys only
 * name the shape (`c2`). Every object (not strings) gets the next ordinal as its tag is written,
 * in pre-order; `ad` refers back to it. A container (`c0`–`ca`) that is the target of a
 * back-reference has its tag's low bit set (patched in when the reference is written), telling
 * the decoder to create it before its contents: that is how cycles decode, while all other
 * objects are built in one go from a cached per-shape constructor. Varints are unsigned LEB128.
 * Floats and typed-array contents are in the machine's byte order (both ends share the machine).
 *
 * ## Files
 *
 * This file holds the wire format: the tags below, the limits, the object kinds the encoder
 * recognises and the typed-array kinds of `d0`. `writer.ts` writes the bytes of scalars and
 * strings; `encode.ts` (the `Encoder`, which extends the writer) everything that is an object;
 * `unencodable.ts` the path of a value that cannot be sent; `decode.ts` the `Decoder`; `text.ts`
 * the string helpers; `marshal.ts` the marshal hook and the one registry of revivers (those of
 * `args` too); `index.ts` the public surface (`@threadkit/core/codec`).
 */

// ---------------------------------------------------------------------------
// Host features (typed structurally: core compiles against ECMAScript only)

export type ViewConstructor = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => ArrayBufferView;

const host = globalThis as unknown as {
  Float16Array?: ViewConstructor;
  SharedArrayBuffer?: typeof SharedArrayBuffer;
};
export const SAB: typeof SharedArrayBuffer | undefined = typeof host.SharedArrayBuffer === 'function' ? host.SharedArrayBuffer : undefined;

// ---------------------------------------------------------------------------
// Tags

export const STR_FIX = 0x80;
export const UNDEF = 0xa0;
export const NULL = 0xa1;
export const FALSE = 0xa2;
export const TRUE = 0xa3;
export const UINT8 = 0xa4;
export const INT16 = 0xa5;
export const INT32 = 0xa6;
export const FLOAT64 = 0xa7;
export const BIGINT = 0xa8;
export const STR_LATIN1 = 0xa9;
export const STR_WTF8 = 0xaa;
export const STR_UTF8 = 0xab;
export const HOLES = 0xac;
export const REF = 0xad;
export const SHARED = 0xae;
// Containers: the low bit is set when the container is the target of a back-reference.
export const OBJ_DEF = 0xc0;
export const OBJ_SHAPE = 0xc2;
export const OBJ_DYN = 0xc4;
export const ARRAY = 0xc6;
export const MAP = 0xc8;
export const SET = 0xca;
export const TRACKED = 1;
export const LAST_CONTAINER = 0xcb;
export const DATE = 0xcc;
export const REGEXP = 0xcd;
export const ARRAY_BUFFER = 0xce;
export const RESIZABLE_BUFFER = 0xcf;
export const VIEW = 0xd0;
export const ERROR = 0xd1;
export const BOXED = 0xd2;
export const MARSHAL = 0xd3;

// ---------------------------------------------------------------------------
// Limits

/** Objects with more keys than this are written with inline keys and never cached. */
export const MAX_SHAPE_KEYS = 64;
/** The encoder's shape tree is dropped and rebuilt when it grows past this many nodes. */
export const MAX_SHAPE_NODES = 8192;
/** Objects met in one message are found by linear search up to this many, then by a Map. */
export const LINEAR_IDENTITY = 16;
/** Strings up to this many UTF-16 units are encoded and decoded by hand; longer ones by TextEncoder/TextDecoder. */
export const SHORT_STRING = 64;
/** {@link Encoder.encode} reuses its views of payloads shorter than this. */
export const VIEW_CACHE = 1024;
/** The encoder keeps a scratch buffer up to this size between messages. */
export const KEEP_SCRATCH = 16 * 1024 * 1024;
/** A decoder compiles a shape's constructor after seeing it this many times. */
export const COMPILE_AFTER = 4;

// ---------------------------------------------------------------------------
// Object kinds, by constructor or by Object.prototype.toString tag

export const K_PLAIN = 1;
export const K_ARRAY = 2;
export const K_MAP = 3;
export const K_SET = 4;
export const K_DATE = 5;
export const K_REGEXP = 6;
export const K_BUFFER = 7;
export const K_SHARED = 8;
export const K_ERROR = 9;
export const K_NUMBER = 10;
export const K_STRING = 11;
export const K_BOOLEAN = 12;
export const K_BIGINT = 13;
export const K_VIEW = 32; // + the view's kind byte

export const viewConstructors: ViewConstructor[] = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
  DataView as unknown as ViewConstructor,
];
if (host.Float16Array) viewConstructors.push(host.Float16Array);
export const DATAVIEW_KIND = 11;

export const kindByConstructor = new Map<unknown, number>([
  [Object, K_PLAIN],
  [Array, K_ARRAY],
  [Map, K_MAP],
  [Set, K_SET],
  [Date, K_DATE],
  [RegExp, K_REGEXP],
  [ArrayBuffer, K_BUFFER],
  [Error, K_ERROR],
  [EvalError, K_ERROR],
  [RangeError, K_ERROR],
  [ReferenceError, K_ERROR],
  [SyntaxError, K_ERROR],
  [TypeError, K_ERROR],
  [URIError, K_ERROR],
  [AggregateError, K_ERROR],
  [Number, K_NUMBER],
  [String, K_STRING],
  [Boolean, K_BOOLEAN],
  [BigInt, K_BIGINT],
]);
export const kindByTag = new Map<string, number>([
  ['[object Object]', K_PLAIN],
  ['[object Arguments]', K_PLAIN],
  ['[object Array]', K_ARRAY],
  ['[object Map]', K_MAP],
  ['[object Set]', K_SET],
  ['[object Date]', K_DATE],
  ['[object RegExp]', K_REGEXP],
  ['[object ArrayBuffer]', K_BUFFER],
  ['[object SharedArrayBuffer]', K_SHARED],
  ['[object Error]', K_ERROR],
  ['[object Number]', K_NUMBER],
  ['[object String]', K_STRING],
  ['[object Boolean]', K_BOOLEAN],
  ['[object BigInt]', K_BIGINT],
]);
if (SAB) kindByConstructor.set(SAB, K_SHARED);
viewConstructors.forEach((ctor, kind) => {
  kindByConstructor.set(ctor, K_VIEW + kind);
  kindByTag.set(`[object ${ctor.name}]`, K_VIEW + kind);
});
