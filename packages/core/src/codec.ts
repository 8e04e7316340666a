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
 */
import { DataCloneError, reviveError, serializeError, type SerializedError } from './errors.js';

// ---------------------------------------------------------------------------
// Host features (typed structurally: core compiles against ECMAScript only)

interface TextEncoderLike {
  encodeInto(source: string, destination: Uint8Array): { read: number; written: number };
}
interface TextDecoderLike {
  decode(input: Uint8Array): string;
}
type ViewConstructor = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => ArrayBufferView;

const host = globalThis as unknown as {
  TextEncoder?: new () => TextEncoderLike;
  TextDecoder?: new (label?: string, options?: { ignoreBOM?: boolean }) => TextDecoderLike;
  Float16Array?: ViewConstructor;
  SharedArrayBuffer?: typeof SharedArrayBuffer;
};
const textEncoder: TextEncoderLike | undefined = host.TextEncoder ? new host.TextEncoder() : undefined;
// ignoreBOM: a string that starts with U+FEFF must keep it.
const textDecoder: TextDecoderLike | undefined = host.TextDecoder ? new host.TextDecoder('utf-8', { ignoreBOM: true }) : undefined;
const SAB: typeof SharedArrayBuffer | undefined = typeof host.SharedArrayBuffer === 'function' ? host.SharedArrayBuffer : undefined;
const hasIsWellFormed = typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === 'function';
/** Browsers' TextDecoder refuses views of a SharedArrayBuffer; probed on first need. */
let textDecoderTakesShared: boolean | undefined;

const ObjectProto = Object.prototype;
const ArrayProto = Array.prototype;
const objectToString = Object.prototype.toString;
const fcc = String.fromCharCode;

// ---------------------------------------------------------------------------
// The marshal hook

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

/** Rebuilds a marshalled object; `context` is the decoder's {@link DecoderOptions.context}. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Reviver = (data: any, context: unknown) => unknown;

const revivers = new Map<string, Reviver>();

/** Registers how objects marshalled under `type` are rebuilt by every {@link Decoder}; a later registration replaces an earlier one. */
export function registerReviver(type: string, reviver: Reviver): void {
  revivers.set(type, reviver);
}

// ---------------------------------------------------------------------------
// Tags

const STR_FIX = 0x80;
const UNDEF = 0xa0;
const NULL = 0xa1;
const FALSE = 0xa2;
const TRUE = 0xa3;
const UINT8 = 0xa4;
const INT16 = 0xa5;
const INT32 = 0xa6;
const FLOAT64 = 0xa7;
const BIGINT = 0xa8;
const STR_LATIN1 = 0xa9;
const STR_WTF8 = 0xaa;
const STR_UTF8 = 0xab;
const HOLES = 0xac;
const REF = 0xad;
const SHARED = 0xae;
// Containers: the low bit is set when the container is the target of a back-reference.
const OBJ_DEF = 0xc0;
const OBJ_SHAPE = 0xc2;
const OBJ_DYN = 0xc4;
const ARRAY = 0xc6;
const MAP = 0xc8;
const SET = 0xca;
const TRACKED = 1;
const LAST_CONTAINER = 0xcb;
const DATE = 0xcc;
const REGEXP = 0xcd;
const ARRAY_BUFFER = 0xce;
const RESIZABLE_BUFFER = 0xcf;
const VIEW = 0xd0;
const ERROR = 0xd1;
const BOXED = 0xd2;
const MARSHAL = 0xd3;

/** Objects with more keys than this are written with inline keys and never cached. */
const MAX_SHAPE_KEYS = 64;
/** The encoder's shape tree is dropped and rebuilt when it grows past this many nodes. */
const MAX_SHAPE_NODES = 8192;
/** Objects met in one message are found by linear search up to this many, then by a Map. */
const LINEAR_IDENTITY = 16;
/** Strings up to this many UTF-16 units are encoded and decoded by hand; longer ones by TextEncoder/TextDecoder. */
const SHORT_STRING = 64;
/** {@link Encoder.encode} reuses its views of payloads shorter than this. */
const VIEW_CACHE = 1024;
/** The encoder keeps a scratch buffer up to this size between messages. */
const KEEP_SCRATCH = 16 * 1024 * 1024;
/** A decoder compiles a shape's constructor after seeing it this many times. */
const COMPILE_AFTER = 4;

// Object kinds, by constructor or by Object.prototype.toString tag.
const K_PLAIN = 1;
const K_ARRAY = 2;
const K_MAP = 3;
const K_SET = 4;
const K_DATE = 5;
const K_REGEXP = 6;
const K_BUFFER = 7;
const K_SHARED = 8;
const K_ERROR = 9;
const K_NUMBER = 10;
const K_STRING = 11;
const K_BOOLEAN = 12;
const K_BIGINT = 13;
const K_VIEW = 32; // + the view's kind byte

const viewConstructors: ViewConstructor[] = [
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
const DATAVIEW_KIND = 11;

const kindByConstructor = new Map<unknown, number>([
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
const kindByTag = new Map<string, number>([
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

const standardErrors: Record<string, { prototype: object }> = {
  EvalError,
  RangeError,
  ReferenceError,
  SyntaxError,
  TypeError,
  URIError,
};

// ---------------------------------------------------------------------------
// Errors

/** Thrown inside the encoder at an unencodable value; each container on the way out adds its step of the path. */
class Unencodable {
  readonly steps: string[] = [];
  constructor(readonly reason: string) {}
}

function addStep(error: unknown, step: string): unknown {
  if (error instanceof Unencodable) error.steps.push(step);
  return error;
}

const identifier = /^[A-Za-z_$][\w$]*$/;
function keyStep(key: string): string {
  return identifier.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}
function mapKeyLabel(key: unknown): string {
  if (typeof key === 'string') return JSON.stringify(key);
  if (typeof key === 'bigint') return `${key}n`;
  if (typeof key === 'object' && key !== null) return '<object>';
  return String(key);
}

function corrupt(what: string): Error {
  return new RangeError(`threadkit codec: cannot decode a corrupt payload (${what})`);
}

// ---------------------------------------------------------------------------
// Encoder

/** A node of the encoder's shape tree: the keys seen so far lead to it. */
class ShapeNode {
  /** The first key that extends this node, and where it leads (most nodes have one). */
  key: string | undefined = undefined;
  next: ShapeNode | undefined = undefined;
  /** Further keys. */
  more: Map<string, ShapeNode> | undefined = undefined;
  /** The shape of an object with exactly the keys leading here. */
  shape: EncoderShape | undefined = undefined;
}

class EncoderShape {
  /** The message this shape was last defined in, and its index there. */
  epoch = -1;
  index = 0;
  constructor(
    /** What follows an OBJ_DEF tag: varint byteLength, 2 bytes of hash, varint n, n key strings. */
    readonly def: Uint8Array,
  ) {}
}

/** Options of an {@link Encoder}. */
export interface EncoderOptions {
  /** Initial size of the scratch buffer in bytes (default 4096); it grows as needed. */
  readonly initialSize?: number;
  /** Passed to every `[marshal](context)` method met while encoding. */
  readonly context?: unknown;
}

const noShared: readonly SharedArrayBuffer[] = Object.freeze([]) as readonly SharedArrayBuffer[];

/**
 * Turns values into bytes. One encoder serves one thread (it is not reentrant); reuse it: it
 * keeps its scratch buffer and its cache of object shapes between messages.
 */
export class Encoder {
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;
  /** Views of the scratch buffer by length, for {@link encode}; dropped when the buffer is replaced. */
  private views: (Uint8Array | undefined)[] = [];
  private readonly initialSize: number;
  private readonly context: unknown;
  // Shapes
  private root = new ShapeNode();
  private nodes = 0;
  private epoch = 0;
  private shapesInMessage = 0;
  // Identity of objects in the current message
  private count = 0;
  private readonly objects: unknown[] = [];
  private readonly offsets: number[] = [];
  private identity: Map<unknown, number> | undefined = undefined;
  private openMarshals: number[] = [];
  private polluted = false;
  private busy = false;
  private sharedList: SharedArrayBuffer[] = noShared as SharedArrayBuffer[];
  // Holes of the sparse array being written
  private sparseOf: unknown = undefined;
  private sparseKeys: string[] = [];
  private sparseCursor = 0;

  constructor(options: EncoderOptions = {}) {
    this.initialSize = Math.max(64, options.initialSize ?? 4096);
    this.context = options.context;
    this.buf = new Uint8Array(this.initialSize);
    this.view = new DataView(this.buf.buffer);
  }

  /**
   * Encodes `value` and returns a view of the bytes in the encoder's scratch buffer, valid until
   * the next call on this encoder. Throws {@link DataCloneError} naming the path (from `root`,
   * e.g. `item.cb: function cb`) when something inside cannot be encoded.
   */
  encode(value: unknown, root = 'value'): Uint8Array {
    const length = this.encodeToScratch(value, root);
    // Making a view costs as much as encoding a small object: reuse one per length (the contract
    // is the same: valid until the next call).
    if (length >= VIEW_CACHE) return new Uint8Array(this.buf.buffer, 0, length);
    return (this.views[length] ??= new Uint8Array(this.buf.buffer, 0, length));
  }

  /**
   * Like {@link encode} without allocating a view: returns the payload's length; the payload is
   * `scratch[0, length)`, and {@link copyTo} copies it.
   */
  encodeToScratch(value: unknown, root = 'value'): number {
    return this.encodeAfter(value, root, 0);
  }

  /**
   * Encodes `value` after the first `start` bytes of the scratch buffer, which it keeps (a batch
   * of payloads built in place, without a copy); returns where the payload ends. On an error the
   * first `start` bytes are kept and the error is thrown.
   */
  encodeAfter(value: unknown, root: string, start: number): number {
    if (this.busy) throw new Error('threadkit codec: Encoder.encode() was called again while it was encoding (from a getter or a marshal method); use another Encoder');
    this.busy = true;
    this.begin(start);
    try {
      this.write(value);
    } catch (error) {
      this.pos = start;
      throw this.explain(error, root);
    } finally {
      this.finish();
      this.busy = false;
    }
    return this.pos;
  }

  /** The scratch buffer; the last payload is its first {@link byteLength} bytes. It is replaced when it grows. */
  get scratch(): Uint8Array {
    return this.buf;
  }

  /** The length of the last payload. */
  get byteLength(): number {
    return this.pos;
  }

  /** Copies the last payload into `target` at `offset` and returns its length. */
  copyTo(target: Uint8Array, offset = 0): number {
    const n = this.pos;
    if (offset + n > target.length) throw new RangeError(`copyTo: the payload (${n} bytes) does not fit at offset ${offset} of a ${target.length}-byte target`);
    const b = this.buf;
    if (n <= 64) for (let i = 0; i < n; i++) target[offset + i] = b[i]!;
    else target.set(new Uint8Array(b.buffer, 0, n), offset);
    return n;
  }

  /** The SharedArrayBuffers the last payload refers to, without clearing them (see {@link takeShared}). */
  get shared(): readonly SharedArrayBuffer[] {
    return this.sharedList;
  }

  /**
   * The SharedArrayBuffers the last payload refers to (by index), in order; the decoder must be
   * given the same list. They cannot be written as bytes: send them beside the payload (e.g. by
   * postMessage). Returns a frozen empty array when there are none; a second call returns that too.
   */
  takeShared(): readonly SharedArrayBuffer[] {
    const list = this.sharedList;
    this.sharedList = noShared as SharedArrayBuffer[];
    return list;
  }

  // -- per message ----------------------------------------------------------

  private begin(start: number): void {
    this.pos = start;
    this.epoch++;
    this.shapesInMessage = 0;
    this.count = 0;
    if (this.sharedList.length !== 0) this.sharedList = noShared as SharedArrayBuffer[];
    if (this.nodes > MAX_SHAPE_NODES) {
      this.root = new ShapeNode();
      this.nodes = 0;
    }
    if (start === 0 && this.buf.length > KEEP_SCRATCH) this.resize(this.initialSize);
    // Someone added an enumerable property to Object.prototype: for-in would see it, so use Object.keys.
    this.polluted = false;
    for (const _ in ObjectProto) {
      this.polluted = true;
      break;
    }
  }

  private finish(): void {
    const n = this.count < LINEAR_IDENTITY ? this.count : LINEAR_IDENTITY;
    const objects = this.objects;
    for (let i = 0; i < n; i++) objects[i] = undefined;
    if (this.count > LINEAR_IDENTITY) this.identity!.clear();
    if (this.openMarshals.length !== 0) this.openMarshals = [];
    if (this.sparseOf !== undefined) {
      this.sparseOf = undefined;
      this.sparseKeys = [];
    }
  }

  private explain(error: unknown, root: string): unknown {
    if (!(error instanceof Unencodable)) return error;
    const path = root + error.steps.reverse().join('');
    return new DataCloneError(
      `${path}: ${error.reason} cannot be sent to another thread; send plain data (objects, arrays, Map, Set, Date, RegExp, typed arrays, errors, threadkit objects) and rebuild the rest on the other side`,
      path,
    );
  }

  // -- buffer ---------------------------------------------------------------

  private resize(size: number): void {
    const next = new Uint8Array(size);
    if (this.pos !== 0) next.set(new Uint8Array(this.buf.buffer, 0, Math.min(this.pos, size)));
    this.buf = next;
    this.view = new DataView(next.buffer);
    if (this.views.length !== 0) this.views = [];
  }

  /** Makes room for `n` more bytes. */
  private ensure(n: number): void {
    const need = this.pos + n;
    if (need > this.buf.length) this.resize(Math.max(need + 64, this.buf.length * 2));
  }

  private varint(n: number): void {
    const b = this.buf;
    if (n < 0x80) {
      b[this.pos++] = n;
      return;
    }
    let p = this.pos;
    while (n >= 0x80) {
      b[p++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    b[p++] = n;
    this.pos = p;
  }

  // -- values ---------------------------------------------------------------

  private write(value: unknown): void {
    if (this.pos + 16 > this.buf.length) this.ensure(16);
    switch (typeof value) {
      case 'string':
        this.writeString(value);
        return;
      case 'number':
        this.writeNumber(value);
        return;
      case 'object':
        if (value === null) this.buf[this.pos++] = NULL;
        else this.writeObject(value);
        return;
      case 'boolean':
        this.buf[this.pos++] = value ? TRUE : FALSE;
        return;
      case 'undefined':
        this.buf[this.pos++] = UNDEF;
        return;
      case 'bigint':
        this.writeBigInt(value);
        return;
      case 'function':
        throw new Unencodable(value.name ? `function ${value.name}` : 'function');
      default:
        throw new Unencodable(typeof value);
    }
  }

  private writeNumber(n: number): void {
    const b = this.buf;
    if ((n | 0) === n && (n !== 0 || 1 / n > 0)) {
      if (n >= 0) {
        if (n < 0x80) {
          b[this.pos++] = n;
          return;
        }
        if (n < 0x100) {
          const p = this.pos;
          b[p] = UINT8;
          b[p + 1] = n;
          this.pos = p + 2;
          return;
        }
      } else if (n >= -32) {
        b[this.pos++] = n + 0x100;
        return;
      }
      const p = this.pos;
      if (n >= -0x8000 && n < 0x8000) {
        b[p] = INT16;
        b[p + 1] = n;
        b[p + 2] = n >> 8;
        this.pos = p + 3;
      } else {
        b[p] = INT32;
        b[p + 1] = n;
        b[p + 2] = n >> 8;
        b[p + 3] = n >> 16;
        b[p + 4] = n >> 24;
        this.pos = p + 5;
      }
      return;
    }
    b[this.pos] = FLOAT64;
    this.view.setFloat64(this.pos + 1, n, littleEndian);
    this.pos += 9;
  }

  private writeBigInt(n: bigint): void {
    const negative = n < 0n;
    let hex = (negative ? -n : n).toString(16);
    if (hex === '0') hex = '';
    if (hex.length & 1) hex = `0${hex}`;
    const bytes = hex.length >> 1;
    this.ensure(bytes + 12);
    this.buf[this.pos++] = BIGINT;
    this.varint(bytes * 2 + (negative ? 1 : 0));
    const b = this.buf;
    let p = this.pos;
    for (let i = hex.length - 2; i >= 0; i -= 2) b[p++] = parseInt(hex.slice(i, i + 2), 16);
    this.pos = p;
  }

  private writeString(s: string): void {
    const len = s.length;
    if (len < 32) {
      // Latin-1 in the tag's length, one byte a character: the common case.
      if (this.pos + len * 3 + 3 > this.buf.length) this.ensure(len * 3 + 3);
      const b = this.buf;
      const start = this.pos;
      let p = start + 1;
      for (let i = 0; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c > 0xff) {
          this.writeUtf8Short(s, start, 1);
          return;
        }
        b[p++] = c;
      }
      b[start] = STR_FIX | len;
      this.pos = p;
      return;
    }
    if (len <= SHORT_STRING) {
      this.ensure(len * 3 + 4);
      const b = this.buf;
      const start = this.pos;
      let p = start + 2;
      for (let i = 0; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c > 0xff) {
          this.writeUtf8Short(s, start, 2);
          return;
        }
        b[p++] = c;
      }
      b[start] = STR_LATIN1;
      b[start + 1] = len; // < 0x80: one varint byte
      this.pos = p;
      return;
    }
    this.writeLongString(s);
  }

  /** Writes `s` as WTF-8 by hand at `start`, with a varint length of `width` bytes (capacity is ensured). */
  private writeUtf8Short(s: string, start: number, width: number): void {
    const end = writeWtf8(s, this.buf, start + 1 + width);
    this.buf[start] = STR_WTF8;
    paddedVarint(this.buf, start + 1, end - start - 1 - width, width);
    this.pos = end;
  }

  private writeLongString(s: string): void {
    const len = s.length;
    const max = len * 3;
    const width = varintWidth(max);
    this.ensure(max + width + 1);
    const start = this.pos;
    const from = start + 1 + width;
    let end: number;
    let tag = STR_UTF8;
    if (textEncoder !== undefined && isWellFormed(s)) {
      end = from + textEncoder.encodeInto(s, this.buf.subarray(from)).written;
    } else {
      // Lone surrogates: TextEncoder would replace them with U+FFFD; structured clone keeps them.
      end = writeWtf8(s, this.buf, from);
      tag = STR_WTF8;
    }
    this.buf[start] = tag;
    paddedVarint(this.buf, start + 1, end - from, width);
    this.pos = end;
  }

  private writeObject(o: object): void {
    if (this.count !== 0) {
      const ordinal = this.find(o);
      if (ordinal >= 0) {
        this.writeRef(ordinal);
        return;
      }
    }
    const proto = Object.getPrototypeOf(o);
    if (proto === ObjectProto && !this.polluted && (o as Partial<Marshallable>)[marshal] === undefined) {
      this.register(o);
      this.writePlain(o as Record<string, unknown>);
    } else if (proto === ArrayProto) {
      this.register(o);
      this.writeArray(o as unknown[]);
    } else {
      this.writeOther(o);
    }
  }

  /** The ordinal of `o` if it was met earlier in this message, else -1. */
  private find(o: object): number {
    const n = this.count;
    if (n <= LINEAR_IDENTITY) {
      const objects = this.objects;
      for (let i = 0; i < n; i++) if (objects[i] === o) return i;
      return -1;
    }
    const ordinal = this.identity!.get(o);
    return ordinal === undefined ? -1 : ordinal;
  }

  /** Gives `o` the next ordinal; its tag is about to be written at the current position. */
  private register(o: object): number {
    const ordinal = this.count++;
    this.offsets[ordinal] = this.pos;
    if (ordinal < LINEAR_IDENTITY) {
      this.objects[ordinal] = o;
    } else {
      const identity = (this.identity ??= new Map());
      if (ordinal === LINEAR_IDENTITY) for (let i = 0; i < LINEAR_IDENTITY; i++) identity.set(this.objects[i], i);
      identity.set(o, ordinal);
    }
    return ordinal;
  }

  private writeRef(ordinal: number): void {
    if (this.openMarshals.length !== 0 && this.openMarshals.includes(ordinal)) {
      throw new Unencodable('a reference from marshalled data back to the object it describes');
    }
    const b = this.buf;
    const at = this.offsets[ordinal]!;
    const tag = b[at]!;
    if (tag >= OBJ_DEF && tag <= LAST_CONTAINER) b[at] = tag | TRACKED;
    b[this.pos++] = REF;
    this.varint(ordinal);
  }

  /** An object whose prototype is Object.prototype: keys by for-in (no allocation), shape from the tree. */
  private writePlain(o: Record<string, unknown>): void {
    let node = this.root;
    let n = 0;
    for (const k in o) {
      let next = node.key === k ? node.next : node.more !== undefined ? node.more.get(k) : undefined;
      if (next === undefined) {
        if (n === MAX_SHAPE_KEYS) {
          this.writeDynamic(o, Object.keys(o));
          return;
        }
        next = this.extend(node, k);
      }
      node = next;
      n++;
    }
    this.writeShape(node.shape ?? this.makeShape(node, Object.keys(o)));
    let key = '';
    let written = 0;
    try {
      for (const k in o) {
        key = k;
        this.write(o[k]);
        written++;
      }
    } catch (error) {
      throw addStep(error, keyStep(key));
    }
    if (written !== n) throw new Error('threadkit codec: an object was modified while it was being encoded');
  }

  /** An object of another prototype (a class instance, a null-prototype object...): its own enumerable keys. */
  private writeKeyed(o: Record<string, unknown>): void {
    const keys = Object.keys(o);
    const n = keys.length;
    if (n > MAX_SHAPE_KEYS) {
      this.writeDynamic(o, keys);
      return;
    }
    let node = this.root;
    for (let i = 0; i < n; i++) {
      const k = keys[i]!;
      node = (node.key === k ? node.next : node.more?.get(k)) ?? this.extend(node, k);
    }
    this.writeShape(node.shape ?? this.makeShape(node, keys));
    let i = 0;
    try {
      for (; i < n; i++) this.write(o[keys[i]!]);
    } catch (error) {
      throw addStep(error, keyStep(keys[i]!));
    }
  }

  private writeDynamic(o: Record<string, unknown>, keys: string[]): void {
    this.buf[this.pos++] = OBJ_DYN;
    this.varint(keys.length);
    let i = 0;
    try {
      for (; i < keys.length; i++) {
        this.write(keys[i]);
        this.write(o[keys[i]!]);
      }
    } catch (error) {
      throw addStep(error, keyStep(keys[i]!));
    }
  }

  private extend(node: ShapeNode, k: string): ShapeNode {
    const next = new ShapeNode();
    if (node.key === undefined) {
      node.key = k;
      node.next = next;
    } else {
      (node.more ??= new Map()).set(k, next);
    }
    this.nodes++;
    return next;
  }

  private makeShape(node: ShapeNode, keys: string[]): EncoderShape {
    const body = encodeKeys(keys);
    // Two bytes of hash first: the decoder finds its cached shape without hashing the keys.
    let h = body.length;
    for (let i = 0; i < body.length; i++) h = Math.imul(h ^ body[i]!, 0x01000193);
    h ^= h >>> 16;
    const width = varintWidth(body.length + 2);
    const def = new Uint8Array(width + 2 + body.length);
    paddedVarint(def, 0, body.length + 2, width);
    def[width] = h;
    def[width + 1] = h >>> 8;
    def.set(body, width + 2);
    return (node.shape = new EncoderShape(def));
  }

  private writeShape(shape: EncoderShape): void {
    if (shape.epoch === this.epoch) {
      this.buf[this.pos++] = OBJ_SHAPE;
      this.varint(shape.index);
      return;
    }
    shape.epoch = this.epoch;
    shape.index = this.shapesInMessage++;
    const def = shape.def;
    const n = def.length;
    if (this.pos + n + 1 > this.buf.length) this.ensure(n + 1);
    const b = this.buf;
    let p = this.pos;
    b[p++] = OBJ_DEF;
    if (n <= 32) for (let i = 0; i < n; i++) b[p++] = def[i]!;
    else {
      b.set(def, p);
      p += n;
    }
    this.pos = p;
  }

  private writeArray(a: unknown[]): void {
    const len = a.length;
    this.buf[this.pos++] = ARRAY;
    this.varint(len);
    let i = 0;
    try {
      for (; i < len; i++) {
        const v = a[i];
        if (v === undefined && !(i in a)) i = this.writeHoles(a, i, len) - 1;
        else this.write(v);
      }
    } catch (error) {
      throw addStep(error, `[${i}]`);
    }
  }

  /** Writes the run of holes starting at `i`; returns the index after it. */
  private writeHoles(a: unknown[], i: number, len: number): number {
    let j = i + 1;
    while (j < len && !(j in a)) {
      j++;
      if (j - i === 32) {
        j = this.nextIndex(a, j, len);
        break;
      }
    }
    if (this.pos + 12 > this.buf.length) this.ensure(12);
    this.buf[this.pos++] = HOLES;
    this.varint(j - i);
    return j;
  }

  /** The first index ≥ `from` that `a` has, from its key list: a long run of holes is skipped without probing each index. */
  private nextIndex(a: unknown[], from: number, len: number): number {
    if (this.sparseOf !== a) {
      this.sparseOf = a;
      this.sparseKeys = Object.keys(a);
      this.sparseCursor = 0;
    }
    const keys = this.sparseKeys;
    for (let c = this.sparseCursor; c < keys.length; c++) {
      const index = Number(keys[c]);
      if (!(index >= 0 && index < len && String(index) === keys[c])) break; // past the index keys
      if (index >= from) {
        this.sparseCursor = c;
        return index;
      }
    }
    return len;
  }

  private writeOther(o: object): void {
    const m = (o as Partial<Marshallable>)[marshal];
    if (typeof m === 'function') {
      this.writeMarshalled(o, m);
      return;
    }
    let kind = kindByConstructor.get((o as { constructor?: unknown }).constructor);
    if (kind === undefined || (kind === K_PLAIN && Object.getPrototypeOf(o) !== ObjectProto && objectToString.call(o) !== '[object Object]')) {
      const tag = objectToString.call(o);
      kind = kindByTag.get(tag);
      if (kind === undefined) {
        if (o instanceof Error) kind = K_ERROR;
        else if (Array.isArray(o)) kind = K_ARRAY;
        else throw new Unencodable(describeUnsupported(o, tag));
      }
    }
    if (kind >= K_VIEW) {
      this.writeView(o as ArrayBufferView, kind - K_VIEW);
      return;
    }
    switch (kind) {
      case K_PLAIN:
        this.register(o);
        this.writeKeyed(o as Record<string, unknown>);
        return;
      case K_ARRAY:
        this.register(o);
        this.writeArray(o as unknown[]);
        return;
      case K_MAP:
        this.register(o);
        this.writeMap(o as Map<unknown, unknown>);
        return;
      case K_SET:
        this.register(o);
        this.writeSet(o as Set<unknown>);
        return;
      case K_DATE:
        this.register(o);
        this.buf[this.pos++] = DATE;
        this.writeRawFloat(Date.prototype.getTime.call(o));
        return;
      case K_REGEXP:
        this.register(o);
        this.buf[this.pos++] = REGEXP;
        this.writeString((o as RegExp).source);
        this.write((o as RegExp).flags);
        return;
      case K_BUFFER:
        this.register(o);
        this.writeBuffer(o as ArrayBuffer);
        return;
      case K_SHARED:
        this.buf[this.pos++] = SHARED;
        this.varint(this.sharedIndex(o as SharedArrayBuffer));
        return;
      case K_ERROR:
        this.register(o);
        this.buf[this.pos++] = ERROR;
        this.write(serializeError(o));
        return;
      case K_NUMBER:
        this.register(o);
        this.buf[this.pos++] = BOXED;
        this.write(Number.prototype.valueOf.call(o));
        return;
      case K_STRING:
        this.register(o);
        this.buf[this.pos++] = BOXED;
        this.write(String.prototype.valueOf.call(o));
        return;
      case K_BOOLEAN:
        this.register(o);
        this.buf[this.pos++] = BOXED;
        this.write(Boolean.prototype.valueOf.call(o));
        return;
      case K_BIGINT:
        this.register(o);
        this.buf[this.pos++] = BOXED;
        this.write(BigInt.prototype.valueOf.call(o));
        return;
    }
  }

  private writeRawFloat(n: number): void {
    this.view.setFloat64(this.pos, n, littleEndian);
    this.pos += 8;
  }

  private writeMap(map: Map<unknown, unknown>): void {
    const size = map.size;
    this.buf[this.pos++] = MAP;
    this.varint(size);
    let i = 0;
    let key: unknown;
    let inKey = true;
    try {
      Map.prototype.forEach.call(map, (v, k) => {
        if (i >= size) return;
        key = k;
        inKey = true;
        this.write(k);
        inKey = false;
        this.write(v);
        i++;
      });
    } catch (error) {
      throw addStep(error, inKey ? `.<key ${i}>` : `.get(${mapKeyLabel(key)})`);
    }
    if (i !== size) throw new Error('threadkit codec: a Map was modified while it was being encoded');
  }

  private writeSet(set: Set<unknown>): void {
    const size = set.size;
    this.buf[this.pos++] = SET;
    this.varint(size);
    let i = 0;
    try {
      Set.prototype.forEach.call(set, (v) => {
        if (i >= size) return;
        this.write(v);
        i++;
      });
    } catch (error) {
      throw addStep(error, `.<item ${i}>`);
    }
    if (i !== size) throw new Error('threadkit codec: a Set was modified while it was being encoded');
  }

  private writeBuffer(buffer: ArrayBuffer): void {
    const b = buffer as ArrayBuffer & { resizable?: boolean; maxByteLength?: number; detached?: boolean };
    if (b.detached === true) throw new Unencodable('a detached ArrayBuffer');
    const n = buffer.byteLength;
    this.ensure(n + 32);
    if (b.resizable === true) {
      this.buf[this.pos++] = RESIZABLE_BUFFER;
      this.varint(n);
      this.varint(b.maxByteLength!);
    } else {
      this.buf[this.pos++] = ARRAY_BUFFER;
      this.varint(n);
    }
    // The contents start 8-aligned from the payload's start: copying out of a SharedArrayBuffer
    // is several times faster from an aligned address (place payloads 8-aligned in the ring).
    while (this.pos & 7) this.buf[this.pos++] = 0;
    this.buf.set(new Uint8Array(buffer), this.pos);
    this.pos += n;
  }

  private writeView(view: ArrayBufferView, kind: number): void {
    this.register(view);
    this.ensure(24);
    const length = kind === DATAVIEW_KIND ? view.byteLength : (view as Uint8Array).length;
    this.buf[this.pos++] = VIEW;
    this.buf[this.pos++] = kind;
    this.varint(view.byteOffset);
    this.varint(length);
    this.write(view.buffer);
  }

  private sharedIndex(sab: SharedArrayBuffer): number {
    if (this.sharedList === noShared) this.sharedList = [];
    const list = this.sharedList;
    const i = list.indexOf(sab);
    if (i >= 0) return i;
    list.push(sab);
    return list.length - 1;
  }

  private writeMarshalled(o: object, method: (context?: unknown) => unknown): void {
    const ordinal = this.register(o);
    this.openMarshals.push(ordinal);
    const described = method.call(o, this.context) as Partial<Marshalled> | null | undefined;
    if (typeof described !== 'object' || described === null || typeof described.type !== 'string') {
      const name = (o as { constructor?: { name?: string } }).constructor?.name ?? 'object';
      throw new Unencodable(`${name} (its [Symbol.for('threadkit.marshal')]() did not return { type: string, data })`);
    }
    this.buf[this.pos++] = MARSHAL;
    this.writeString(described.type);
    try {
      this.write(described.data);
    } catch (error) {
      throw addStep(error, `.<${described.type} data>`);
    }
    this.openMarshals.pop();
  }
}

function describeUnsupported(o: object, tag: string): string {
  const name = tag.slice(8, -1);
  if (name === 'Promise') return 'Promise (await it first)';
  if (name === 'WeakMap' || name === 'WeakSet' || name === 'WeakRef' || name === 'FinalizationRegistry') return name;
  const ctor = (o as { constructor?: { name?: unknown } }).constructor?.name;
  return `${typeof ctor === 'string' && ctor !== '' ? ctor : name} (a host object the codec cannot carry)`;
}

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function isWellFormed(s: string): boolean {
  if (hasIsWellFormed) return (s as unknown as { isWellFormed(): boolean }).isWellFormed();
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c & 0xf800) !== 0xd800) continue;
    if (c >= 0xdc00 || i + 1 === s.length || (s.charCodeAt(i + 1) & 0xfc00) !== 0xdc00) return false;
    i++;
  }
  return true;
}

/** Writes `s` as UTF-8 into `b` at `p`, keeping lone surrogates as 3-byte sequences (WTF-8); returns the end. Capacity: 3 bytes a unit. */
function writeWtf8(s: string, b: Uint8Array, p: number): number {
  const len = s.length;
  for (let i = 0; i < len; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      b[p++] = c;
    } else if (c < 0x800) {
      b[p++] = 0xc0 | (c >> 6);
      b[p++] = 0x80 | (c & 0x3f);
    } else {
      if ((c & 0xfc00) === 0xd800 && i + 1 < len) {
        const d = s.charCodeAt(i + 1);
        if ((d & 0xfc00) === 0xdc00) {
          c = 0x10000 + ((c & 0x3ff) << 10) + (d & 0x3ff);
          i++;
          b[p++] = 0xf0 | (c >> 18);
          b[p++] = 0x80 | ((c >> 12) & 0x3f);
          b[p++] = 0x80 | ((c >> 6) & 0x3f);
          b[p++] = 0x80 | (c & 0x3f);
          continue;
        }
      }
      b[p++] = 0xe0 | (c >> 12);
      b[p++] = 0x80 | ((c >> 6) & 0x3f);
      b[p++] = 0x80 | (c & 0x3f);
    }
  }
  return p;
}

function varintWidth(n: number): number {
  let w = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    w++;
  }
  return w;
}

/** A varint of exactly `width` bytes (non-minimal when the value is small: decoders accept it). */
function paddedVarint(b: Uint8Array, at: number, n: number, width: number): void {
  for (let i = 0; i < width - 1; i++) {
    b[at + i] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  b[at + width - 1] = n;
}

let keyEncoder: Encoder | undefined;
/** The body of a shape definition: varint n, then the n keys as codec strings. */
function encodeKeys(keys: readonly string[]): Uint8Array {
  keyEncoder ??= new Encoder({ initialSize: 256 });
  const bytes = keyEncoder.encode(keys);
  // An array of strings: ARRAY tag, varint n, strings. Drop the tag.
  return bytes.slice(1);
}

// ---------------------------------------------------------------------------
// Decoder

interface DecoderShape {
  readonly keys: readonly string[];
  /** The definition's bytes, to confirm a cache hit. */
  readonly bytes: Uint8Array;
  /** Has a `__proto__` key, which must be defined, not assigned. */
  readonly proto: boolean;
  uses: number;
  /** Builds the object from the values that follow, as an object literal (compiled per shape). */
  build: ((decoder: Decoder) => Record<string, unknown>) | undefined;
}

/** Options of a {@link Decoder}. */
export interface DecoderOptions {
  /** Passed to every reviver as its second argument. */
  readonly context?: unknown;
  /** Revivers consulted before the ones given to {@link registerReviver}. */
  readonly revivers?: ReadonlyMap<string, Reviver>;
  /**
   * Build objects of a frequent shape with a compiled constructor (`new Function`), the fast
   * path (default true). Where a Content-Security-Policy forbids it, the decoder notices and
   * falls back to assigning keys one by one.
   */
  readonly compile?: boolean;
}

const SHAPE_CACHE = 1024;
const UNIT_CHUNK = 4096;
const emptyBytes = new Uint8Array(0);
let canCompile = true;

const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);

/**
 * Turns bytes from an {@link Encoder} back into values. Reuse it: it caches the object shapes it
 * has seen. It never keeps a reference into the bytes it is given: strings, typed arrays and
 * buffers in the result own their memory, so the bytes may be a view of a SharedArrayBuffer
 * that is overwritten right after.
 */
export class Decoder {
  private src: Uint8Array = emptyBytes;
  private pos = 0;
  private start = 0;
  private end = 0;
  private shared: readonly SharedArrayBuffer[] | undefined = undefined;
  private count = 0;
  private readonly objects: unknown[] = [];
  private shapes: DecoderShape[] = [];
  private shapesInMessage = 0;
  private readonly cache: (DecoderShape | undefined)[] = new Array<DecoderShape | undefined>(SHAPE_CACHE).fill(undefined);
  private units = new Uint16Array(UNIT_CHUNK);
  private copy = emptyBytes;
  private readonly context: unknown;
  private readonly revivers: ReadonlyMap<string, Reviver> | undefined;
  private readonly compile: boolean;

  constructor(options: DecoderOptions = {}) {
    this.context = options.context;
    this.revivers = options.revivers;
    this.compile = options.compile ?? true;
  }

  /** Decodes one payload. `shared` is the encoder's {@link Encoder.takeShared} list when the payload has SharedArrayBuffers. */
  decode(bytes: Uint8Array, shared?: readonly SharedArrayBuffer[]): unknown {
    return this.decodeRange(bytes, 0, bytes.length, shared);
  }

  /** Decodes the payload in `bytes[start, end)`, e.g. straight from a ring buffer, without making a view of it. */
  decodeRange(bytes: Uint8Array, start: number, end: number, shared?: readonly SharedArrayBuffer[]): unknown {
    // A subclass (Node's Buffer) has its own slice(): read through a plain Uint8Array.
    if (bytes.constructor !== Uint8Array) bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (!(start >= 0 && end <= bytes.length && start <= end)) throw new RangeError(`decodeRange: [${start}, ${end}) is outside the ${bytes.length} bytes given`);
    if (this.src !== emptyBytes) throw new Error('threadkit codec: Decoder.decode() was called again while it was decoding (from a reviver); use another Decoder');
    this.src = bytes;
    this.pos = start;
    this.start = start;
    this.end = end;
    this.shared = shared;
    this.count = 0;
    this.shapesInMessage = 0;
    try {
      const value = this.read();
      if (this.pos !== end) throw corrupt(this.pos < end ? `${end - this.pos} bytes left over` : 'it ends early');
      return value;
    } finally {
      const objects = this.objects;
      for (let i = 0, n = this.count; i < n; i++) objects[i] = undefined;
      this.src = emptyBytes;
      this.shared = undefined;
    }
  }

  /** Reads one value. Compiled shape constructors call it by name. */
  private read(): unknown {
    const src = this.src;
    const b = src[this.pos++]!;
    if (b < 0x80) return b;
    if (b < 0xa0) return this.latin1(b & 0x1f);
    if (b >= 0xe0) return b - 0x100;
    switch (b) {
      case UNDEF:
        return undefined;
      case NULL:
        return null;
      case FALSE:
        return false;
      case TRUE:
        return true;
      case UINT8:
        return src[this.pos++]!;
      case INT16: {
        const p = this.pos;
        this.pos = p + 2;
        return ((src[p]! | (src[p + 1]! << 8)) << 16) >> 16;
      }
      case INT32: {
        const p = this.pos;
        this.pos = p + 4;
        return src[p]! | (src[p + 1]! << 8) | (src[p + 2]! << 16) | (src[p + 3]! << 24);
      }
      case FLOAT64:
        return this.float();
      case OBJ_DEF:
        return this.object(this.defineShape());
      case OBJ_SHAPE:
        return this.object(this.knownShape());
      case OBJ_DEF | TRACKED:
        return this.trackedObject(this.defineShape());
      case OBJ_SHAPE | TRACKED:
        return this.trackedObject(this.knownShape());
      case STR_LATIN1:
        return this.latin1(this.length());
      case STR_WTF8:
        return this.utf8(this.length());
      case STR_UTF8:
        return this.utf8Long(this.length());
      case ARRAY:
      case ARRAY | TRACKED:
        return this.array();
      case REF: {
        const ordinal = this.varint();
        const o = ordinal < this.count ? this.objects[ordinal] : undefined;
        if (o === undefined) throw corrupt(`a reference to object #${ordinal}, which is not (yet) there`);
        return o;
      }
      case OBJ_DYN:
      case OBJ_DYN | TRACKED:
        return this.dynamicObject();
      case MAP:
      case MAP | TRACKED: {
        const ordinal = this.count++;
        const map = new Map<unknown, unknown>();
        this.objects[ordinal] = map;
        for (let n = this.varint(); n > 0; n--) {
          const k = this.read();
          map.set(k, this.read());
        }
        return map;
      }
      case SET:
      case SET | TRACKED: {
        const ordinal = this.count++;
        const set = new Set<unknown>();
        this.objects[ordinal] = set;
        for (let n = this.varint(); n > 0; n--) set.add(this.read());
        return set;
      }
      case DATE: {
        const ordinal = this.count++;
        return (this.objects[ordinal] = new Date(this.float()));
      }
      case REGEXP: {
        const ordinal = this.count++;
        const source = this.read();
        const flags = this.read();
        if (typeof source !== 'string' || typeof flags !== 'string') throw corrupt('a RegExp without source or flags');
        return (this.objects[ordinal] = new RegExp(source, flags));
      }
      case ARRAY_BUFFER: {
        const ordinal = this.count++;
        const n = this.varint();
        const p = this.align(n);
        this.pos = p + n;
        return (this.objects[ordinal] = copyBytes(src, p, n).buffer);
      }
      case RESIZABLE_BUFFER: {
        const ordinal = this.count++;
        const n = this.varint();
        const max = this.varint();
        const p = this.align(n);
        this.pos = p + n;
        const buffer = new (ArrayBuffer as unknown as new (n: number, options: { maxByteLength: number }) => ArrayBuffer)(n, { maxByteLength: max });
        new Uint8Array(buffer).set(src.subarray(p, p + n));
        return (this.objects[ordinal] = buffer);
      }
      case VIEW: {
        const ordinal = this.count++;
        const ctor = viewConstructors[src[this.pos++]!];
        const byteOffset = this.varint();
        const length = this.varint();
        const buffer = this.read();
        if (ctor === undefined || !(buffer instanceof ArrayBuffer || (SAB !== undefined && buffer instanceof SAB))) {
          throw corrupt(ctor === undefined ? 'a typed array of a kind this runtime lacks' : 'a typed array without its buffer');
        }
        return (this.objects[ordinal] = new ctor(buffer, byteOffset, length));
      }
      case SHARED: {
        const index = this.varint();
        const sab = this.shared?.[index];
        if (sab === undefined) {
          throw new RangeError(`threadkit codec: the payload refers to SharedArrayBuffer #${index}, but decode() was given ${this.shared ? `only ${this.shared.length}` : 'none'}: pass the encoder's takeShared() list`);
        }
        return sab;
      }
      case ERROR: {
        const ordinal = this.count++;
        return (this.objects[ordinal] = reviveAnyError(this.read()));
      }
      case BOXED: {
        const ordinal = this.count++;
        return (this.objects[ordinal] = Object(this.read()));
      }
      case MARSHAL: {
        const ordinal = this.count++;
        const type = this.read();
        const data = this.read();
        if (typeof type !== 'string') throw corrupt('a marshalled object without a type');
        const reviver = this.revivers?.get(type) ?? revivers.get(type);
        if (reviver === undefined) {
          throw new DataCloneError(
            `Cannot rebuild a marshalled "${type}": no reviver is registered for it in this thread; import the module that defines it (it calls registerReviver("${type}", …))`,
            '',
          );
        }
        return (this.objects[ordinal] = reviver(data, this.context));
      }
      case BIGINT:
        return this.bigint();
      case HOLES:
        throw corrupt('array holes outside an array');
      default:
        throw corrupt(b === undefined ? 'it ends early' : `unknown tag 0x${b.toString(16)} at byte ${this.pos - 1}`);
    }
  }

  private varint(): number {
    const src = this.src;
    let b = src[this.pos++]!;
    if (b < 0x80) return b;
    let n = b & 0x7f;
    let scale = 0x80;
    do {
      b = src[this.pos++]!;
      n += (b & 0x7f) * scale;
      scale *= 0x80;
    } while (b >= 0x80 && scale < 2 ** 56);
    return n;
  }

  /** Skips the padding before `n` bytes of binary contents (8-aligned from the payload's start); returns where they start. */
  private align(n: number): number {
    const p = this.pos + ((8 - ((this.pos - this.start) & 7)) & 7);
    if (p + n > this.end) throw corrupt('binary contents past the end');
    return p;
  }

  /** A varint length of bytes that must be there. */
  private length(): number {
    const n = this.varint();
    if (this.pos + n > this.end) throw corrupt('a length past the end');
    return n;
  }

  private float(): number {
    const src = this.src;
    const p = this.pos;
    this.pos = p + 8;
    const b = f64Bytes;
    b[0] = src[p]!;
    b[1] = src[p + 1]!;
    b[2] = src[p + 2]!;
    b[3] = src[p + 3]!;
    b[4] = src[p + 4]!;
    b[5] = src[p + 5]!;
    b[6] = src[p + 6]!;
    b[7] = src[p + 7]!;
    return f64[0]!;
  }

  private bigint(): bigint {
    const header = this.varint();
    const n = Math.floor(header / 2);
    if (this.pos + n > this.end) throw corrupt('a BigInt past the end');
    const src = this.src;
    let hex = '';
    for (let p = this.pos + n - 1; p >= this.pos; p--) hex += (src[p]! < 16 ? '0' : '') + src[p]!.toString(16);
    this.pos += n;
    const magnitude = n === 0 ? 0n : BigInt(`0x${hex}`);
    return header & 1 ? -magnitude : magnitude;
  }

  // -- strings --------------------------------------------------------------

  private latin1(len: number): string {
    const p = this.pos;
    this.pos = p + len;
    return fromCodes(this.src, p, len);
  }

  /** Decodes UTF-8, including the lone surrogates of WTF-8, by hand. */
  private utf8(len: number): string {
    const src = this.src;
    let p = this.pos;
    const end = p + len;
    this.pos = end;
    const u = this.units;
    let n = 0;
    let out = '';
    while (p < end) {
      let c = src[p++]!;
      if (c >= 0x80) {
        if (c < 0xe0) {
          c = ((c & 0x1f) << 6) | (src[p++]! & 0x3f);
        } else if (c < 0xf0) {
          c = ((c & 0x0f) << 12) | ((src[p++]! & 0x3f) << 6) | (src[p++]! & 0x3f);
        } else {
          c = (((c & 0x07) << 18) | ((src[p++]! & 0x3f) << 12) | ((src[p++]! & 0x3f) << 6) | (src[p++]! & 0x3f)) - 0x10000;
          u[n++] = 0xd800 | (c >> 10);
          c = 0xdc00 | (c & 0x3ff);
        }
      }
      u[n++] = c;
      if (n >= UNIT_CHUNK - 1) {
        out += fromCodes(u, 0, n);
        n = 0;
      }
    }
    return n === 0 ? out : out + fromCodes(u, 0, n);
  }

  /** Well-formed UTF-8: by hand when short, else TextDecoder (on a private copy where it refuses shared memory). */
  private utf8Long(len: number): string {
    if (len <= SHORT_STRING || textDecoder === undefined) return this.utf8(len);
    const p = this.pos;
    this.pos = p + len;
    const src = this.src;
    if (SAB !== undefined && src.buffer instanceof SAB && !(textDecoderTakesShared ??= probeSharedDecode())) {
      if (this.copy.length < len) this.copy = new Uint8Array(Math.max(len, this.copy.length * 2));
      this.copy.set(src.subarray(p, p + len));
      const s = textDecoder.decode(this.copy.subarray(0, len));
      if (this.copy.length > KEEP_SCRATCH) this.copy = emptyBytes;
      return s;
    }
    return textDecoder.decode(src.subarray(p, p + len));
  }

  // -- objects --------------------------------------------------------------

  private defineShape(): DecoderShape {
    const len = this.length();
    const src = this.src;
    const start = this.pos;
    const end = start + len;
    // The encoder's hash of the keys picks the slot; the bytes decide.
    const slot = (src[start]! | (src[start + 1]! << 8)) & (SHAPE_CACHE - 1);
    let shape = this.cache[slot];
    if (shape === undefined || !sameBytes(shape.bytes, src, start, len)) {
      shape = this.parseShape(start, end);
      this.cache[slot] = shape;
    }
    this.pos = end;
    this.shapes[this.shapesInMessage++] = shape;
    return shape;
  }

  private parseShape(start: number, end: number): DecoderShape {
    if (end - start < 3) throw corrupt('a shape definition too short');
    this.pos = start + 2;
    const n = this.varint();
    const keys: string[] = [];
    for (let i = 0; i < n && this.pos < end; i++) {
      const k = this.read();
      if (typeof k !== 'string') throw corrupt('a shape with a key that is not a string');
      keys.push(k);
    }
    if (keys.length !== n || this.pos !== end) throw corrupt('a shape definition of the wrong length');
    return { keys, bytes: copyBytes(this.src, start, end - start), proto: keys.includes('__proto__'), uses: 0, build: undefined };
  }

  private knownShape(): DecoderShape {
    const index = this.varint();
    if (index >= this.shapesInMessage) throw corrupt(`a reference to shape #${index}, which is not defined`);
    return this.shapes[index]!;
  }

  private object(shape: DecoderShape): Record<string, unknown> {
    const ordinal = this.count++;
    let o: Record<string, unknown>;
    const build = shape.build;
    if (build !== undefined) {
      o = build(this);
    } else {
      if (++shape.uses === COMPILE_AFTER && this.compile) shape.build = compileShape(shape);
      o = {};
      this.fill(o, shape);
    }
    this.objects[ordinal] = o;
    return o;
  }

  /** An object that something inside it refers back to: it must exist before its values are read. */
  private trackedObject(shape: DecoderShape): Record<string, unknown> {
    const o: Record<string, unknown> = {};
    this.objects[this.count++] = o;
    this.fill(o, shape);
    return o;
  }

  private fill(o: Record<string, unknown>, shape: DecoderShape): void {
    const keys = shape.keys;
    if (shape.proto) {
      for (let i = 0; i < keys.length; i++) define(o, keys[i]!, this.read());
    } else {
      for (let i = 0; i < keys.length; i++) o[keys[i]!] = this.read();
    }
  }

  private dynamicObject(): Record<string, unknown> {
    const o: Record<string, unknown> = {};
    this.objects[this.count++] = o;
    for (let n = this.varint(); n > 0; n--) {
      const k = this.read();
      if (typeof k !== 'string') throw corrupt('an object key that is not a string');
      define(o, k, this.read());
    }
    return o;
  }

  private array(): unknown[] {
    const a: unknown[] = [];
    this.objects[this.count++] = a;
    const len = this.varint();
    const src = this.src;
    for (let i = 0; i < len; ) {
      if (src[this.pos] === HOLES) {
        this.pos++;
        i += this.varint();
        if (i > len) throw corrupt('array holes past its length');
        a.length = i;
      } else {
        a.push(this.read());
        i++;
      }
    }
    return a;
  }
}

/** A copy of `src[p, p + n)` in fresh memory (faster than slice() on a shared view). */
function copyBytes(src: Uint8Array, p: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  out.set(src.subarray(p, p + n));
  return out;
}

function define(o: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(o, key, { value, writable: true, enumerable: true, configurable: true });
  else o[key] = value;
}

function sameBytes(a: Uint8Array, src: Uint8Array, start: number, len: number): boolean {
  if (a.length !== len) return false;
  for (let i = 0; i < len; i++) if (a[i] !== src[start + i]) return false;
  return true;
}

/** `function (d) { return { "k1": d.read(), "k2": d.read() } }`: V8 builds it from one boilerplate, the fastest way to make an object. */
function compileShape(shape: DecoderShape): DecoderShape['build'] {
  if (!canCompile || shape.proto || shape.keys.length > MAX_SHAPE_KEYS) return undefined;
  const body = shape.keys.map((k) => `${JSON.stringify(k)}:d.read()`).join(',');
  try {
    return new Function('d', `"use strict";return{${body}}`) as DecoderShape['build'];
  } catch {
    canCompile = false; // a Content-Security-Policy without 'unsafe-eval'
    return undefined;
  }
}

function reviveAnyError(data: unknown): Error {
  if (typeof data !== 'object' || data === null || typeof (data as SerializedError).message !== 'string') throw corrupt('an error without its message');
  const error = reviveError(data as SerializedError);
  restoreStandardClass(error, 0);
  return error;
}

/** deserializeError() makes plain Errors named `RangeError` etc.; give them their class back (structured clone does), causes included. */
function restoreStandardClass(error: unknown, depth: number): void {
  if (!(error instanceof Error) || depth > 8) return;
  const standard = standardErrors[error.name];
  if (standard !== undefined && Object.getPrototypeOf(error) === Error.prototype) Object.setPrototypeOf(error, standard.prototype);
  restoreStandardClass(error.cause, depth + 1);
  if (error instanceof AggregateError) for (const inner of error.errors as unknown[]) restoreStandardClass(inner, depth + 1);
}

function probeSharedDecode(): boolean {
  try {
    textDecoder!.decode(new Uint8Array(new SAB!(1)));
    return true;
  } catch {
    return false;
  }
}

/** The string of the UTF-16 code units (or Latin-1 bytes) `a[p, p + n)`; reads a shared view without handing it to a host API. */
function fromCodes(a: Uint8Array | Uint16Array, p: number, n: number): string {
  if (n <= 16) return fromCodes16(a, p, n);
  if (n <= 64) {
    let s = fromCodes16(a, p, 16);
    for (p += 16, n -= 16; n > 16; p += 16, n -= 16) s += fromCodes16(a, p, 16);
    return s + fromCodes16(a, p, n);
  }
  let s = '';
  for (; n > 0; p += 8192, n -= 8192) s += fcc.apply(null, a.subarray(p, p + Math.min(n, 8192)) as unknown as number[]);
  return s;
}

function fromCodes16(a: Uint8Array | Uint16Array, p: number, n: number): string {
  switch (n) {
    case 0:
      return '';
    case 1:
      return fcc(a[p]!);
    case 2:
      return fcc(a[p]!, a[p + 1]!);
    case 3:
      return fcc(a[p]!, a[p + 1]!, a[p + 2]!);
    case 4:
      return fcc(a[p]!, a[p + 1]!, a[p + 2]!, a[p + 3]!);
    case 5:
      return fcc(a[p]!, a[p + 1]!, a[p + 2]!, a[p + 3]!, a[p + 4]!);
    case 6:
      return fcc(a[p]!, a[p + 1]!, a[p + 2]!, a[p + 3]!, a[p + 4]!, a[p + 5]!);
    case 7:
      return fcc(a[p]!, a[p + 1]!, a[p + 2]!, a[p + 3]!, a[p + 4]!, a[p + 5]!, a[p + 6]!);
    case 8:
      return fcc(a[p]!, a[p + 1]!, a[p + 2]!, a[p + 3]!, a[p + 4]!, a[p + 5]!, a[p + 6]!, a[p + 7]!);
    case 9:
      return fcc(a[p]!, a[p + 1]!, a[p + 2]!, a[p + 3]!, a[p + 4]!, a[p + 5]!, a[p + 6]!, a[p + 7]!, a[p + 8]!);
    case 10:
      return fcc(a[p]!, a[p + 1]!, a[p + 2]!, a[p + 3]!, a[p + 4]!, a[p + 5]!, a[p + 6]!, a[p + 7]!, a[p + 8]!, a[p + 9]!);
    case 11:
      return fcc(a[p]!, a[p + 1]!, a[p + 2]!, a[p + 3]!, a[p + 4]!, a[p + 5]!, a[p + 6]!, a[p + 7]!, a[p + 8]!, a[p + 9]!, a[p + 10]!);
    case 12:
      return fcc(a[p]!, a[p + 1]!, a[p + 2]!, a[p + 3]!, a[p + 4]!, a[p + 5]!, a[p + 6]!, a[p + 7]!, a[p + 8]!, a[p + 9]!, a[p + 10]!, a[p + 11]!);
    case 13:
      return fcc(a[p]!, a[p + 1]!, a[p + 2]!, a[p + 3]!, a[p + 4]!, a[p + 5]!, a[p + 6]!, a[p + 7]!, a[p + 8]!, a[p + 9]!, a[p + 10]!, a[p + 11]!, a[p + 12]!);
    case 14:
      return fcc(a[p]!, a[p + 1]!, a[p + 2]!, a[p + 3]!, a[p + 4]!, a[p + 5]!, a[p + 6]!, a[p + 7]!, a[p + 8]!, a[p + 9]!, a[p + 10]!, a[p + 11]!, a[p + 12]!, a[p + 13]!);
    case 15:
      return fcc(a[p]!, a[p + 1]!, a[p + 2]!, a[p + 3]!, a[p + 4]!, a[p + 5]!, a[p + 6]!, a[p + 7]!, a[p + 8]!, a[p + 9]!, a[p + 10]!, a[p + 11]!, a[p + 12]!, a[p + 13]!, a[p + 14]!);
    default:
      return fcc(a[p]!, a[p + 1]!, a[p + 2]!, a[p + 3]!, a[p + 4]!, a[p + 5]!, a[p + 6]!, a[p + 7]!, a[p + 8]!, a[p + 9]!, a[p + 10]!, a[p + 11]!, a[p + 12]!, a[p + 13]!, a[p + 14]!, a[p + 15]!);
  }
}
