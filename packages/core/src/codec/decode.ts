/**
 * The {@link Decoder}: bytes in the wire format of `format.ts` back to values, with a cache of
 * object shapes and, for frequent shapes, compiled constructors.
 */
import { DataCloneError, InvalidStateError, reviveError, type SerializedError } from '../errors.js';
import type { Encoder } from './encode.js';
import * as format from './format.js';
import { revivers, type Reviver } from './marshal.js';
import * as text from './text.js';

// The wire table's constants (and the helpers the hot paths call) bound to this module's own
// constants once: V8 reads a module-level const with one context load, but an imported binding
// through its module cell on every use (on Node 20, decoding with imported tags measured 5–10%
// slower).
const { ARRAY, ARRAY_BUFFER, BIGINT, BOXED, DATE, ERROR, FALSE, FLOAT64, HOLES, INT16, INT32, MAP, MARSHAL, NULL, OBJ_DEF, OBJ_DYN, OBJ_SHAPE, REF } = format;
const { REGEXP, RESIZABLE_BUFFER, SET, SHARED, STR_LATIN1, STR_UTF8, STR_WTF8, TRACKED, TRUE, UINT8, UNDEF, VIEW } = format;
const { COMPILE_AFTER, KEEP_SCRATCH, MAX_SHAPE_KEYS, SHORT_STRING } = format;
const { SAB, viewConstructors } = format;
const { fromCodes, probeSharedDecode, textDecoder } = text;

/** Browsers' TextDecoder refuses views of a SharedArrayBuffer; probed on first need. */
let textDecoderTakesShared: boolean | undefined;

const standardErrors: Record<string, { prototype: object }> = {
  EvalError,
  RangeError,
  ReferenceError,
  SyntaxError,
  TypeError,
  URIError,
};

function corrupt(what: string): Error {
  return new RangeError(`threadkit codec: cannot decode a corrupt payload (${what})`);
}

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
    if (!(start >= 0 && end <= bytes.length && start <= end))
      throw new RangeError(`decodeRange: [${start}, ${end}) is outside the ${bytes.length} bytes given`);
    if (this.src !== emptyBytes)
      throw new InvalidStateError('threadkit codec: Decoder.decode() was called again while it was decoding (from a reviver); use another Decoder');
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
          throw new RangeError(
            `threadkit codec: the payload refers to SharedArrayBuffer #${index}, but decode() was given ${this.shared ? `only ${this.shared.length}` : 'none'}: pass the encoder's takeShared() list`,
          );
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
