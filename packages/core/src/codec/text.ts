/**
 * The codec's string helpers: the host's TextEncoder and TextDecoder where there are any, WTF-8
 * written by hand (lone surrogates kept, as structured clone keeps them), and strings made from
 * code units without handing a shared view to a host API.
 */
import { SAB } from './format.js';

interface TextEncoderLike {
  encodeInto(source: string, destination: Uint8Array): { read: number; written: number };
}
interface TextDecoderLike {
  decode(input: Uint8Array): string;
}

const host = globalThis as unknown as {
  TextEncoder?: new () => TextEncoderLike;
  TextDecoder?: new (label?: string, options?: { ignoreBOM?: boolean }) => TextDecoderLike;
};
export const textEncoder: TextEncoderLike | undefined = host.TextEncoder ? new host.TextEncoder() : undefined;
// ignoreBOM: a string that starts with U+FEFF must keep it.
export const textDecoder: TextDecoderLike | undefined = host.TextDecoder ? new host.TextDecoder('utf-8', { ignoreBOM: true }) : undefined;
const hasIsWellFormed = typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === 'function';
const fcc = String.fromCharCode;

export function isWellFormed(s: string): boolean {
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
export function writeWtf8(s: string, b: Uint8Array, p: number): number {
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

/** Whether the host's TextDecoder takes views of a SharedArrayBuffer (browsers' refuses them). */
export function probeSharedDecode(): boolean {
  try {
    textDecoder!.decode(new Uint8Array(new SAB!(1)));
    return true;
  } catch {
    return false;
  }
}

/** The string of the UTF-16 code units (or Latin-1 bytes) `a[p, p + n)`; reads a shared view without handing it to a host API. */
export function fromCodes(a: Uint8Array | Uint16Array, p: number, n: number): string {
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
      return fcc(
        a[p]!,
        a[p + 1]!,
        a[p + 2]!,
        a[p + 3]!,
        a[p + 4]!,
        a[p + 5]!,
        a[p + 6]!,
        a[p + 7]!,
        a[p + 8]!,
        a[p + 9]!,
        a[p + 10]!,
        a[p + 11]!,
        a[p + 12]!,
        a[p + 13]!,
      );
    case 15:
      return fcc(
        a[p]!,
        a[p + 1]!,
        a[p + 2]!,
        a[p + 3]!,
        a[p + 4]!,
        a[p + 5]!,
        a[p + 6]!,
        a[p + 7]!,
        a[p + 8]!,
        a[p + 9]!,
        a[p + 10]!,
        a[p + 11]!,
        a[p + 12]!,
        a[p + 13]!,
        a[p + 14]!,
      );
    default:
      return fcc(
        a[p]!,
        a[p + 1]!,
        a[p + 2]!,
        a[p + 3]!,
        a[p + 4]!,
        a[p + 5]!,
        a[p + 6]!,
        a[p + 7]!,
        a[p + 8]!,
        a[p + 9]!,
        a[p + 10]!,
        a[p + 11]!,
        a[p + 12]!,
        a[p + 13]!,
        a[p + 14]!,
        a[p + 15]!,
      );
  }
}
