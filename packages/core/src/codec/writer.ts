/**
 * The encoder's byte layer: its scratch buffer, varints, and the writing of numbers, BigInts and
 * strings (see the wire format in `format.ts`). The {@link Encoder} (`encode.ts`) extends it with
 * everything that is an object; one class chain, so a write is the same method call on `this`
 * that it was when both halves were one class.
 */
import * as format from './format.js';
import * as text from './text.js';
import type { Encoder } from './encode.js';

// The wire table's constants (and the helpers the hot paths call) bound to this module's own
// constants once: V8 reads a module-level const with one context load, but an imported binding
// through its module cell on every use (on Node 20, decoding with imported tags measured 5–10%
// slower).
const { BIGINT, FLOAT64, INT16, INT32, SHORT_STRING, STR_FIX, STR_LATIN1, STR_UTF8, STR_WTF8, UINT8 } = format;
const { isWellFormed, textEncoder, writeWtf8 } = text;

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The scratch buffer of an {@link Encoder} and the writers of everything that is not an object. */
export abstract class Writer {
  protected buf: Uint8Array;
  protected view: DataView;
  protected pos = 0;
  /** Views of the scratch buffer by length, for {@link Encoder.encode}; dropped when the buffer is replaced. */
  protected views: (Uint8Array | undefined)[] = [];
  protected readonly initialSize: number;

  constructor(initialSize: number) {
    this.initialSize = initialSize;
    this.buf = new Uint8Array(initialSize);
    this.view = new DataView(this.buf.buffer);
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

  // -- buffer ---------------------------------------------------------------

  protected resize(size: number): void {
    const next = new Uint8Array(size);
    if (this.pos !== 0) next.set(new Uint8Array(this.buf.buffer, 0, Math.min(this.pos, size)));
    this.buf = next;
    this.view = new DataView(next.buffer);
    if (this.views.length !== 0) this.views = [];
  }

  /** Makes room for `n` more bytes. */
  protected ensure(n: number): void {
    const need = this.pos + n;
    if (need > this.buf.length) this.resize(Math.max(need + 64, this.buf.length * 2));
  }

  protected varint(n: number): void {
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

  // -- scalars --------------------------------------------------------------

  protected writeNumber(n: number): void {
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

  protected writeBigInt(n: bigint): void {
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

  protected writeString(s: string): void {
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

  protected writeRawFloat(n: number): void {
    this.view.setFloat64(this.pos, n, littleEndian);
    this.pos += 8;
  }
}

/** The bytes the varint of `n` takes. */
export function varintWidth(n: number): number {
  let w = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    w++;
  }
  return w;
}

/** A varint of exactly `width` bytes (non-minimal when the value is small: decoders accept it). */
export function paddedVarint(b: Uint8Array, at: number, n: number, width: number): void {
  for (let i = 0; i < width - 1; i++) {
    b[at + i] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  b[at + width - 1] = n;
}
