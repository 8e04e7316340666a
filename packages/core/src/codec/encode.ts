/**
 * The {@link Encoder}: values to bytes in the wire format of `format.ts`. It extends the
 * {@link Writer} (`writer.ts`: the scratch buffer, numbers, strings) with everything that is an
 * object: identity and back-references, shapes, arrays, the other object kinds and the marshal hook.
 */
import { InvalidStateError, serializeError } from '../errors.js';
import * as format from './format.js';
import * as hook from './marshal.js';
import type { Marshallable, Marshalled } from './marshal.js';
import { Unencodable, addStep, describeUnsupported, explain, keyStep, mapKeyLabel } from './unencodable.js';
import { Writer, paddedVarint, varintWidth } from './writer.js';

// The wire table's constants (and the helpers the hot paths call) bound to this module's own
// constants once: V8 reads a module-level const with one context load, but an imported binding
// through its module cell on every use (on Node 20, decoding with imported tags measured 5–10%
// slower).
const { ARRAY, ARRAY_BUFFER, BOXED, DATE, ERROR, FALSE, HOLES, LAST_CONTAINER, MAP, MARSHAL, NULL, OBJ_DEF, OBJ_DYN, OBJ_SHAPE, REF, REGEXP } = format;
const { RESIZABLE_BUFFER, SET, SHARED, TRACKED, TRUE, UNDEF, VIEW } = format;
const { KEEP_SCRATCH, LINEAR_IDENTITY, MAX_SHAPE_KEYS, MAX_SHAPE_NODES, VIEW_CACHE } = format;
const { DATAVIEW_KIND, K_ARRAY, K_BIGINT, K_BOOLEAN, K_BUFFER, K_DATE, K_ERROR, K_MAP, K_NUMBER, K_PLAIN, K_REGEXP, K_SET, K_SHARED, K_STRING } = format;
const { K_VIEW, kindByConstructor, kindByTag } = format;
const marshal: typeof hook.marshal = hook.marshal;

const ObjectProto = Object.prototype;
const ArrayProto = Array.prototype;
const objectToString = Object.prototype.toString;

// ---------------------------------------------------------------------------
// Shapes and options

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
export class Encoder extends Writer {
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
    super(Math.max(64, options.initialSize ?? 4096));
    this.context = options.context;
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
    if (this.busy)
      throw new InvalidStateError(
        'threadkit codec: Encoder.encode() was called again while it was encoding (from a getter or a marshal method); use another Encoder',
      );
    this.busy = true;
    this.begin(start);
    try {
      this.write(value);
    } catch (error) {
      this.pos = start;
      throw explain(error, root);
    } finally {
      this.finish();
      this.busy = false;
    }
    return this.pos;
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
    const n = Math.min(this.count, LINEAR_IDENTITY);
    const objects = this.objects;
    for (let i = 0; i < n; i++) objects[i] = undefined;
    if (this.count > LINEAR_IDENTITY) this.identity!.clear();
    if (this.openMarshals.length !== 0) this.openMarshals = [];
    if (this.sparseOf !== undefined) {
      this.sparseOf = undefined;
      this.sparseKeys = [];
    }
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
    if (written !== n) throw new InvalidStateError('threadkit codec: an object was modified while it was being encoded');
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
    if (i !== size) throw new InvalidStateError('threadkit codec: a Map was modified while it was being encoded');
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
    if (i !== size) throw new InvalidStateError('threadkit codec: a Set was modified while it was being encoded');
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

let keyEncoder: Encoder | undefined;
/** The body of a shape definition: varint n, then the n keys as codec strings. */
function encodeKeys(keys: readonly string[]): Uint8Array {
  keyEncoder ??= new Encoder({ initialSize: 256 });
  const bytes = keyEncoder.encode(keys);
  // An array of strings: ARRAY tag, varint n, strings. Drop the tag.
  return bytes.slice(1);
}
