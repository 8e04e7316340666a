// The payloads every subject sends, so that all subjects of a case move the same data.
// Keep python/common.py in step with this file.

/** The small message: `{ id, text }`, a fresh object per message. */
export function small(i) {
  return { id: i, text: `payload text #${i}` };
}

export const BYTES = 64 * 1024;

/** One 64 KiB Uint8Array with a recognisable pattern; senders reuse it (postMessage copies it anyway). */
export function bytes(size = BYTES) {
  const u = new Uint8Array(size);
  for (let i = 0; i < size; i++) u[i] = i & 255;
  return u;
}

/** `make(i)` for a payload kind: 'small' → a new `{ id, text }` each call; 'bytes' → the same 64 KiB array. */
export function maker(kind) {
  if (kind === 'small') return small;
  if (kind === 'bytes') {
    const u = bytes();
    return () => u;
  }
  throw new Error(`unknown payload kind ${kind}`);
}
