import { describe, expect, it } from 'vitest';
import { checkTimeout } from '../src/validate.js';

describe('checkTimeout()', () => {
  it('accepts undefined, zero, positive numbers and Infinity', () => {
    expect(checkTimeout('x', undefined)).toBeUndefined();
    expect(checkTimeout('x', 0)).toBe(0);
    expect(checkTimeout('x', 12.5)).toBe(12.5);
    expect(checkTimeout('x', Number.POSITIVE_INFINITY)).toBeUndefined();
  });

  it('rejects negatives, NaN and non-numbers, naming the value', () => {
    expect(() => checkTimeout('Cannot join', -1)).toThrow(new RangeError('Cannot join: timeout must be a number of milliseconds >= 0, got -1'));
    expect(() => checkTimeout('Cannot join', Number.NaN)).toThrow(RangeError);
    expect(() => checkTimeout('Cannot join', '5')).toThrow(/must be a number of milliseconds >= 0 or undefined, got `"5"` \(string\)/);
  });
});
