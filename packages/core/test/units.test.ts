import { describe, expect, it } from 'vitest';
import { Thread, displayWidth, renderTimeline, taskModule } from '../src/index.js';
import { findUncloneable } from '../src/clone.js';
import { targetSpec } from '../src/task.js';
import { checkTimeout } from '../src/validate.js';
import { DEFAULT_QUEUE_BYTES, DEFAULT_RING_BYTES, Ring, encodeItem } from '../src/ring.js';

describe('taskModule()', () => {
  it('gives frozen, cached references that name the module and export', () => {
    const tasks = taskModule<{ f(a: number): number }>('file:///tasks.js');
    expect(tasks.f).toEqual({ kind: 'task', module: 'file:///tasks.js', name: 'f' });
    expect(tasks.f).toBe(tasks.f);
    expect(Object.isFrozen(tasks.f)).toBe(true);
    expect(tasks.url).toBe('file:///tasks.js');
  });

  it('is not a thenable, so awaiting it is harmless', async () => {
    const tasks = taskModule<{ f(): void }>(new URL('file:///tasks.js'));
    expect(await tasks).toBe(tasks);
  });

  it('rejects relative paths and non-URLs with a message that says what to pass', () => {
    expect(() => taskModule('./tasks.ts')).toThrow(/is not an absolute URL; .*new URL\('\.\/tasks\.ts', import\.meta\.url\)/);
    expect(() => taskModule(42 as never)).toThrow(/expected a URL or a URL string, got `42` \(number\)/);
  });
});

describe('inline targets', () => {
  it('are sent as source text', () => {
    expect(targetSpec((a: number) => a + 1, 'x')).toMatchObject({ kind: 'source', source: expect.stringContaining('a + 1') });
  });

  it('refuse native and bound functions, and classes, saying why', () => {
    expect(() => targetSpec(Math.max, 'Cannot start')).toThrow(/native or bound function.*taskModule\(\)/);
    expect(() => targetSpec(((a: number) => a).bind(null), 'Cannot start')).toThrow(/native or bound function/);
    expect(() => targetSpec(class A {}, 'Cannot start')).toThrow(/is a class, not a function/);
  });
});

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

describe('without an adapter', () => {
  it('start() says which package to import', () => {
    const t = new Thread({ target: (a: number) => a, args: [1] });
    expect(() => t.start()).toThrow(/No threadkit runtime is installed: import from '@threadkit\/node'/);
  });
});

describe('renderTimeline()', () => {
  it('draws a staircase for sequential play and a stack for concurrent play', () => {
    const seq = renderTimeline(
      { mode: 'sequential', elapsed: 1000, timeline: [
        { title: 'music', worker: 'main', start: 0, end: 400 },
        { title: 'movie', worker: 'main', start: 400, end: 1000 },
      ] },
      { width: 10, unitMs: 100 },
    ).split('\n');
    expect(seq[1]).toContain('│████      │');
    expect(seq[2]).toContain('│    ██████│');
    expect(seq[3]).toBe('sequential: total 10.0s (sum of tracks 10.0s, longest track 6.00s)');

    const par = renderTimeline(
      { mode: 'threads', elapsed: 600, timeline: [
        { title: '歌曲1', worker: 'Thread-1', start: 0, end: 600 },
        { title: '视频2', worker: 'Thread-2', start: 0, end: 300, error: new Error('boom') },
      ] },
      { width: 10, unitMs: 100 },
    ).split('\n');
    expect(par[1]).toContain('│██████████│');
    expect(par[2]).toContain('│×××××     │  failed: boom');
  });

  it('measures East Asian titles as two columns each', () => {
    expect(displayWidth('歌曲1')).toBe(5);
    expect(displayWidth('abc')).toBe(3);
  });
});

describe('default ring sizes', () => {
  it('hold what their documentation says: 16 items of 64 KiB for a Queue, 4 messages for a Pipe', () => {
    for (const [bytes, items] of [[DEFAULT_QUEUE_BYTES, 16], [DEFAULT_RING_BYTES, 4]] as const) {
      const ring = new Ring(new SharedArrayBuffer(Ring.bufferSize(bytes)), 0, { bytes, maxsize: 0 });
      const n = encodeItem(new Uint8Array(64 * 1024), 'item');
      for (let i = 0; i < items; i++) expect(ring.put(n)).toBe('ok');
      expect(ring.put(n)).toBe('full');
    }
  });
});
