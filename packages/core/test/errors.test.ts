import { describe, expect, it } from 'vitest';
import { TaskError, TaskNotFoundError, deserializeError, serializeError } from '../src/index.js';
import { reviveError } from '../src/errors.js';

class PlayerError extends Error {
  code = 'E_PLAYER';
  track = '歌曲1';
}

const roundTrip = (e: unknown) => deserializeError(structuredClone(serializeError(e)));

describe('serializeError() / deserializeError()', () => {
  it('keeps a custom class name, message, stack, code and plain fields across structured clone', () => {
    const original = new PlayerError('cannot play');
    const back = roundTrip(original) as Error & { code?: string; track?: string };
    expect(back.name).toBe('PlayerError');
    expect(back.message).toBe('cannot play');
    expect(back.code).toBe('E_PLAYER');
    expect(back.track).toBe('歌曲1');
    expect(back.stack).toMatch(/^PlayerError: cannot play\n/);
    expect(back.stack).toContain('errors.test.ts');
  });

  it('keeps a chain of causes, including a non-Error cause', () => {
    const back = roundTrip(new Error('outer', { cause: new RangeError('middle', { cause: { reason: 42 } }) }));
    expect((back.cause as Error).name).toBe('RangeError');
    expect((back.cause as Error).cause).toEqual({ reason: 42 });
  });

  it('keeps the errors of an AggregateError', () => {
    const back = roundTrip(new AggregateError([new TypeError('a'), new Error('b')], 'both')) as AggregateError;
    expect(back).toBeInstanceOf(AggregateError);
    expect(back.errors.map((e: Error) => `${e.name}:${e.message}`)).toEqual(['TypeError:a', 'Error:b']);
  });

  it('describes a thrown non-Error value', () => {
    expect(roundTrip('oops').message).toBe('A non-Error value was thrown: oops');
    expect(roundTrip({ n: 1 }).message).toBe('A non-Error value was thrown: {"n":1}');
    expect(roundTrip(undefined).message).toBe('A non-Error value was thrown: undefined');
  });

  it('drops fields that cannot travel instead of failing', () => {
    const e = Object.assign(new Error('x'), { socket: { write() {} }, when: new Date(5) });
    const back = roundTrip(e) as Error & { socket?: unknown; when?: Date };
    expect(back.socket).toBeUndefined();
    expect(back.when).toEqual(new Date(5));
  });

  it('revives threadkit errors as their own class', () => {
    const back = reviveError(structuredClone(serializeError(new TaskNotFoundError('file:///t.js', 'f', ['g']))));
    expect(back).toBeInstanceOf(TaskNotFoundError);
    expect(back.message).toMatch(/no exported function `f`/);
  });

  it('TaskError puts the remote stack under a line naming the thread', () => {
    const remote = roundTrip(new PlayerError('x'));
    const e = new TaskError(remote, 'player-1');
    expect(e.code).toBe('ERR_TASK');
    expect(e.cause).toBe(remote);
    expect(e.stack).toMatch(/^TaskError: PlayerError: x\n {4}--- in player-1 ---\nPlayerError: x\n/);
  });
});
