import { describe, expect, it } from 'vitest';
import { findTaskModule, standIns } from '@threadkit/core/worker';

describe('standIns: what may stand in for a task module that is not there', () => {
  it('a source: its compiled form; a compiled form: its source', () => {
    expect(standIns('file:///app/dist/tasks.ts')).toEqual(['file:///app/dist/tasks.js']);
    expect(standIns('file:///app/dist/tasks.tsx')).toEqual(['file:///app/dist/tasks.js']);
    expect(standIns('file:///app/dist/tasks.mts')).toEqual(['file:///app/dist/tasks.mjs']);
    expect(standIns('file:///app/dist/tasks.cts')).toEqual(['file:///app/dist/tasks.cjs']);
    expect(standIns('file:///app/tasks.js')).toEqual(['file:///app/tasks.ts', 'file:///app/tasks.tsx']);
    expect(standIns('file:///app/tasks.mjs')).toEqual(['file:///app/tasks.mts']);
    expect(standIns('file:///app/tasks.ts?v=2#x')).toEqual(['file:///app/tasks.js?v=2#x']);
  });

  it('nothing for another extension or another scheme', () => {
    expect(standIns('file:///app/tasks.json')).toEqual([]);
    expect(standIns('https://example.com/tasks.ts')).toEqual([]);
    expect(standIns('data:text/javascript,export const f = 1')).toEqual([]);
  });
});

describe('findTaskModule', () => {
  const files =
    (...present: string[]) =>
    (url: string) =>
      present.includes(url);

  it('the module named, when it is there or nobody can tell', () => {
    expect(findTaskModule('file:///a/tasks.ts', files('file:///a/tasks.ts', 'file:///a/tasks.js'))).toBe('file:///a/tasks.ts');
    expect(findTaskModule('file:///a/tasks.ts', () => undefined)).toBe('file:///a/tasks.ts');
    expect(findTaskModule('https://x.test/tasks.ts', () => false)).toBe('https://x.test/tasks.ts');
  });

  it('its stand-in, when only that is there', () => {
    expect(findTaskModule('file:///a/dist/tasks.ts', files('file:///a/dist/tasks.js'))).toBe('file:///a/dist/tasks.js');
    expect(findTaskModule('file:///a/tasks.js', files('file:///a/tasks.tsx'))).toBe('file:///a/tasks.tsx');
  });

  it('neither: an error naming both files and what to do', () => {
    expect(() => findTaskModule('file:///a/dist/tasks.ts', files())).toThrow(
      /^Cannot find the task module \/a\/dist\/tasks\.ts, nor its compiled form \/a\/dist\/tasks\.js: check the URL given to taskModule\(\).*tasks\.js is loaded in place of tasks\.ts: compile the task module with the program/,
    );
    expect(() => findTaskModule('file:///a/tasks.js', files())).toThrow(
      /^Cannot find the task module \/a\/tasks\.js, nor its source \/a\/tasks\.ts or \/a\/tasks\.tsx:/,
    );
    expect(() => findTaskModule('file:///a/data.json', files())).toThrow(/^Cannot find the task module \/a\/data\.json: check the URL/);
  });
});
