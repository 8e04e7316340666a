import { describe, expect, it } from 'vitest';
import { Thread } from '../src/index.js';

describe('without an adapter', () => {
  it('start() says which package to import', () => {
    const t = new Thread({ target: (a: number) => a, args: [1] });
    expect(() => t.start()).toThrow(/No threadkit runtime is installed: import from '@threadkit\/node'/);
  });
});
