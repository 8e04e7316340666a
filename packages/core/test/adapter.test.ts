import { describe, expect, it } from 'vitest';
import {
  childCommand,
  findSetpriv,
  parentArg,
  parentFrom,
  progressArg,
  progressFrom,
  startParentWatch,
  watchParent,
  type WatchedProcess,
} from '../src/adapter/index.js';

describe('how a child process is started so that it ends with its parent', () => {
  it('findSetpriv: the first setpriv that runs with --pdeathsig, on Linux only, unless THREADKIT_PARENT_WATCH=thread', () => {
    const tried: string[] = [];
    const works = (path: string, args: string[]): boolean => {
      tried.push(`${path} ${args.join(' ')}`);
      return path === '/bin/setpriv';
    };
    expect(findSetpriv('linux', undefined, works)).toBe('/bin/setpriv');
    expect(tried).toEqual(['/usr/bin/setpriv --pdeathsig KILL -- /usr/bin/setpriv --version', '/bin/setpriv --pdeathsig KILL -- /bin/setpriv --version']);
    expect(findSetpriv('linux', '', works)).toBe('/bin/setpriv');
    expect(findSetpriv('linux', undefined, () => false)).toBeUndefined();
    tried.length = 0;
    expect(findSetpriv('darwin', undefined, works)).toBeUndefined();
    expect(findSetpriv('linux', 'thread', works)).toBeUndefined();
    expect(tried).toEqual([]);
    expect(() => findSetpriv('linux', 'signal', works)).toThrow(/THREADKIT_PARENT_WATCH must be 'thread' .* or unset, got "signal"/);
  });

  it('childCommand: through setpriv with the parent-death signal, or as it is with a watcher thread', () => {
    expect(childCommand(['/bin/node', '--flag', 'entry.js'], 42, '/usr/bin/setpriv')).toEqual({
      command: '/usr/bin/setpriv',
      args: ['--pdeathsig', 'KILL', '--', '/bin/node', '--flag', 'entry.js', '--threadkit-parent=42:signal'],
    });
    expect(childCommand(['/bin/node', 'entry.js'], 42, undefined)).toEqual({ command: '/bin/node', args: ['entry.js', '--threadkit-parent=42:thread'] });
    expect(() => childCommand([], 42, undefined)).toThrow(/run must name the runtime to start/);
  });

  it('the parent argument round-trips among other arguments', () => {
    expect(parentFrom(['--x', parentArg(4242, 'signal'), 'y'])).toEqual({ pid: 4242, watch: 'signal' });
    expect(parentFrom([parentArg(7, 'thread')])).toEqual({ pid: 7, watch: 'thread' });
  });

  it('the progress-cell argument round-trips; without it there is no cell', () => {
    expect(progressFrom(['entry.js', progressArg(4), parentArg(7, 'signal')])).toBe(4);
    expect(progressFrom(['entry.js', parentArg(7, 'signal')])).toBeUndefined();
    expect(progressFrom(['--threadkit-progress=x'])).toBeUndefined();
    expect(() => progressArg(2)).toThrow(/a progress cell is a file descriptor from 3 up, got 2/);
  });

  it('a missing or malformed parent argument is a named error', () => {
    expect(() => parentFrom([])).toThrow(/--threadkit-parent=<its parent's pid>:<signal\|thread> among its arguments, got none/);
    expect(() => parentFrom(['--threadkit-parent=abc:thread'])).toThrow(/got "--threadkit-parent=abc:thread"/);
    expect(() => parentFrom(['--threadkit-parent=0:thread'])).toThrow(/got "--threadkit-parent=0:thread"/);
    expect(() => parentFrom(['--threadkit-parent=12'])).toThrow(/got "--threadkit-parent=12"/);
    expect(() => parentArg(-1, 'thread')).toThrow(RangeError);
    expect(() => parentArg(1.5, 'thread')).toThrow(/a pid must be a positive integer, got 1.5/);
    expect(() => parentArg(3, 'poll' as never)).toThrow(/watch must be 'signal' or 'thread', got "poll"/);
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
  const noThread = () => {
    throw new Error('no thread is started');
  };

  it("'thread': starts a thread on self-contained source that runs watchParent, unref'd; a failure of the thread is reported", () => {
    let source = '';
    let onError: ((error: unknown) => void) | undefined;
    let unrefd = false;
    const reports: string[] = [];
    const here = fakeProcess(() => {});
    startParentWatch(
      ['x', parentArg(7, 'thread')],
      here.proc,
      (s) => {
        source = s;
        return { on: (_event, listener) => void (onError = listener), unref: () => void (unrefd = true) };
      },
      (text) => reports.push(text),
    );
    expect(here.done).toEqual([]);
    expect(unrefd).toBe(true);
    expect(source).toMatch(/^\(function watchParent\(/);
    expect(source).toMatch(/\)\(require\('node:process'\), setTimeout, 7, 200\);$/);
    // The source runs as it is: given a process whose parent is gone, it kills that process.
    const there = fakeProcess(() => {});
    there.proc.ppid = 1;
    new Function('require', 'setTimeout', source)(() => there.proc, there.schedule);
    expect(there.done).toEqual(['kill 10 SIGKILL']);
    onError!(new Error('no threads here'));
    expect(reports).toEqual(["threadkit: this process's parent watch failed (no threads here); if its parent dies, it ends only once its event loop turns"]);
  });

  it("'signal': starts no thread (the kernel signals the process)", () => {
    const here = fakeProcess(() => {});
    startParentWatch([parentArg(7, 'signal')], here.proc, noThread, () => {});
    expect(here.done).toEqual([]);
    expect(here.waiting()).toBe(false);
  });

  it('either way, a parent gone before the child started ends it at once (it died before the signal was set)', () => {
    for (const watch of ['signal', 'thread'] as const) {
      const here = fakeProcess(() => {});
      here.proc.ppid = 1;
      // (A real SIGKILL ends the process there; the fake one returns, and a thread may follow.)
      startParentWatch(
        [parentArg(7, watch)],
        here.proc,
        () => ({ on: () => {}, unref: () => {} }),
        () => {},
      );
      expect(here.done).toEqual(['kill 10 SIGKILL']);
    }
  });

  it('a child started without its parent argument is a named error, and no thread is started', () => {
    expect(() => startParentWatch([], fakeProcess(() => {}).proc, noThread, () => {})).toThrow(/started with --threadkit-parent=<its parent's pid>/);
  });
});
