import { describe, expect, it } from 'vitest';
import { allocate } from '../src/futex.js';
import { DEFAULT_QUEUE_BYTES, DEFAULT_RING_BYTES, Ring, encodeItem } from '../src/ring.js';

describe('default ring sizes', () => {
  it('hold what their documentation says: 16 items of 64 KiB for a Queue, 4 messages for a Pipe', () => {
    for (const [bytes, items] of [
      [DEFAULT_QUEUE_BYTES, 16],
      [DEFAULT_RING_BYTES, 4],
    ] as const) {
      const ring = new Ring(allocate(Ring.bufferSize(bytes), true), 0, { bytes, maxsize: 0 });
      const n = encodeItem(new Uint8Array(64 * 1024), 'item');
      for (let i = 0; i < items; i++) expect(ring.put(n)).toBe('ok');
      expect(ring.put(n)).toBe('full');
    }
  });
});
