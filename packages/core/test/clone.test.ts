import { describe, expect, it } from 'vitest';
import { findUncloneable } from '../src/clone.js';

describe('findUncloneable()', () => {
  it('names the path to the first value that cannot be cloned', () => {
    expect(findUncloneable([1, { title: 'x', cb: () => 1 }], 'args')).toEqual({ path: 'args[1].cb', reason: 'function cb' });
    expect(findUncloneable(new Map([['k', { s: Symbol('s') }]]), 'args[0]')).toEqual({ path: 'args[0].get("k").s', reason: 'symbol' });
    expect(findUncloneable({ p: Promise.resolve(1) }, 'result')).toEqual({ path: 'result.p', reason: 'Promise (await it first)' });
    expect(findUncloneable({ a: [1, 2, new Date()], m: new Map([[1, new Set([2])]]) }, 'args')).toBeUndefined();
  });

  it('handles cycles', () => {
    const a: Record<string, unknown> = { n: 1 };
    a.self = a;
    expect(findUncloneable(a, 'args[0]')).toBeUndefined();
    a.f = () => {};
    expect(findUncloneable(a, 'args[0]')?.path).toBe('args[0].f');
  });
});
