import { describe, expect, it } from 'vitest';
import { taskModule } from '../src/index.js';
import { targetSpec } from '../src/task.js';

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
