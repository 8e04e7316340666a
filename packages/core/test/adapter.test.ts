import { describe, expect, it } from 'vitest';
import { parentArg, parentPidFrom, startParentWatch, watchParent, type WatchedProcess } from '../src/adapter.js';

describe('the parent pid a child process is started with', () => {
  it('round-trips among other arguments', () => {
    expect(parentPidFrom(['--x', parentArg(4242), 'y'])).toBe(4242);
  });

  it('a missing or malformed one is a named error', () => {
    expect(() => parentPidFrom([])).toThrow(/--threadkit-parent=<its parent's pid> among its arguments, got none/);
    expect(() => parentPidFrom(['--threadkit-parent=abc'])).toThrow(/got "--threadkit-parent=abc"/);
    expect(() => parentPidFrom(['--threadkit-parent=0'])).toThrow(/got "--threadkit-parent=0"/);
    expect(() => parentArg(-1)).toThrow(RangeError);
    expect(() => parentArg(1.5)).toThrow(/a pid must be a positive integer, got 1.5/);
  });
});

/** A process whose parent pid and probe answers the test sets; it records what the watch did. */
function fakeProcess(probe: (pid: number) => void, refuseSelfKill = false) {
  const done: string[] = [];
  const proc = {
    pid: 10,
    ppid: 7,
    kill(pid: number, signal?: string | number) {
      if (signal === 0) return probe(pid);
      if (refuseSelfKill) throw Object.assign(new Error('Requires run access'), { name: 'NotCapable' });
      done.push(`kill ${pid} ${String(signal)}`);
    },
    abort() {
      done.push('abort');
    },
  } satisfies WatchedProcess;
  let pending: (() => void) | undefined;
  const schedule = (check: () => void): void => void (pending = check);
  const tick = (): void => {
    const next = pending;
    pending = undefined;
    next?.();
  };
  return { proc, done, schedule, tick, waiting: () => pending !== undefined };
}

const errno = (code: string): Error => Object.assign(new Error(code), { code });

describe('watchParent', () => {
  it('ends the process with SIGKILL once its parent pid changes (an orphan is adopted)', () => {
    const f = fakeProcess(() => {});
    watchParent(f.proc, f.schedule, 7, 200);
    f.tick();
    expect(f.done).toEqual([]);
    expect(f.waiting()).toBe(true);
    f.proc.ppid = 1;
    f.tick();
    expect(f.done).toEqual(['kill 10 SIGKILL']);
    expect(f.waiting()).toBe(false);
  });

  it('a parent already gone when the watch starts ends the process at once', () => {
    const f = fakeProcess(() => {});
    f.proc.ppid = 1;
    watchParent(f.proc, f.schedule, 7, 200);
    expect(f.done).toEqual(['kill 10 SIGKILL']);
  });

  it('ends the process once no process has the parent pid, though the parent pid stays (Windows)', () => {
    let parentExists = true;
    const f = fakeProcess(() => {
      if (!parentExists) throw errno('ESRCH');
    });
    watchParent(f.proc, f.schedule, 7, 200);
    f.tick();
    expect(f.done).toEqual([]);
    parentExists = false;
    f.tick();
    expect(f.done).toEqual(['kill 10 SIGKILL']);
  });

  it('a parent it may not signal (EPERM) still exists; a runtime that refuses the probe falls back on the parent pid', () => {
    for (const refusal of [errno('EPERM'), Object.assign(new Error('Requires run access'), { name: 'NotCapable' })]) {
      const f = fakeProcess(() => {
        throw refusal;
      });
      watchParent(f.proc, f.schedule, 7, 200);
      f.tick();
      f.tick();
      expect(f.done).toEqual([]);
      f.proc.ppid = 1;
      f.tick();
      expect(f.done).toEqual(['kill 10 SIGKILL']);
    }
  });

  it('aborts the process where killing itself is refused', () => {
    const f = fakeProcess(() => {}, true);
    f.proc.ppid = 1;
    watchParent(f.proc, f.schedule, 7, 200);
    expect(f.done).toEqual(['abort']);
  });
});

describe('startParentWatch', () => {
  it('starts a thread on self-contained source that runs watchParent, unref\'d; a failure of the thread is reported', () => {
    let source = '';
    let onError: ((error: unknown) => void) | undefined;
    let unrefd = false;
    const reports: string[] = [];
    startParentWatch(
      ['x', parentArg(77)],
      (s) => {
        source = s;
        return { on: (_event, listener) => void (onError = listener), unref: () => void (unrefd = true) };
      },
      (text) => reports.push(text),
    );
    expect(unrefd).toBe(true);
    expect(source).toMatch(/^\(function watchParent\(/);
    expect(source).toMatch(/\)\(require\('node:process'\), setTimeout, 77, 200\);$/);
    // The source runs as it is: given a process whose parent is gone, it kills that process.
    const f = fakeProcess(() => {});
    f.proc.ppid = 1;
    new Function('require', 'setTimeout', source)(() => f.proc, f.schedule);
    expect(f.done).toEqual(['kill 10 SIGKILL']);
    onError!(new Error('no threads here'));
    expect(reports).toEqual(["threadkit: this process's parent watch failed (no threads here); if its parent dies, it ends only once its event loop turns"]);
  });

  it('a child started without its parent pid is a named error, and no thread is started', () => {
    let started = false;
    expect(() =>
      startParentWatch(
        [],
        () => {
          started = true;
          return { on: () => {}, unref: () => {} };
        },
        () => {},
      ),
    ).toThrow(/started with --threadkit-parent=<its parent's pid>/);
    expect(started).toBe(false);
  });
});
