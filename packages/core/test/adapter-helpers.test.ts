/**
 * The adapter helpers that stand for a child process (childProcesses, ipcScope), a progress cell
 * (openCell, cellWriter) and a Web Worker (webWorkerEnd, webWorkerScope, catchUncaught), each
 * driven through fakes of the runtime objects they take.
 */
import { describe, expect, it } from 'vitest';
import {
  CELL_FD,
  EXIT_KEY,
  LIFE_KEY,
  catchUncaught,
  cellWriter,
  childProcesses,
  ipcScope,
  isGoodbye,
  openCell,
  progressArg,
  webWorkerEnd,
  webWorkerScope,
  type CellFiles,
  type ChildHost,
  type GlobalErrorEvent,
  type IpcChild,
  type IpcProcess,
} from '../src/adapter/index.js';
import type { SpawnOptions, WorkerEvents } from '../src/runtime.js';

/** Waits until `check()` holds (a bound for what must come soon, not a speed check). */
async function until(check: () => boolean, ms = 5_000): Promise<void> {
  for (const end = Date.now() + ms; !check(); await new Promise((r) => setTimeout(r, 5))) {
    if (Date.now() > end) throw new Error('timed out');
  }
}

/** A listener registry, as an event emitter or an event target keeps them. */
function emitter() {
  const listeners = new Map<string, ((...args: never[]) => void)[]>();
  return {
    on(event: string, listener: (...args: never[]) => void) {
      listeners.set(event, [...(listeners.get(event) ?? []), listener]);
    },
    emit(event: string, ...args: unknown[]) {
      for (const l of listeners.get(event) ?? []) (l as (...a: unknown[]) => void)(...args);
    },
    count: (event: string) => (listeners.get(event) ?? []).length,
  };
}

/** What core hears of a worker. */
function recorder() {
  const heard: unknown[] = [];
  const events: WorkerEvents = {
    message: (data) => heard.push(['message', data]),
    error: (error) => heard.push(['error', error instanceof Error ? error.message : error]),
    exit: (code) => heard.push(['exit', code]),
  };
  return { heard, events, exits: () => heard.filter((h) => (h as unknown[])[0] === 'exit') };
}

/** An in-memory `node:fs`, enough for progress cells: a file is 4 bytes at most here. */
function memoryFiles(options: { refuseOpen?: boolean; refuseUnlink?: boolean } = {}) {
  const files = new Map<string, Uint8Array>();
  const open = new Map<number, string>();
  const log: string[] = [];
  let next = 10;
  const fs: CellFiles & { writeSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number } = {
    openSync(path) {
      if (options.refuseOpen || files.has(path)) throw Object.assign(new Error('EACCES'), { code: 'EACCES' });
      files.set(path, new Uint8Array(0));
      open.set(next, path);
      log.push(`open ${next}`);
      return next++;
    },
    unlinkSync(path) {
      log.push(`unlink ${path.startsWith('/tmp/threadkit-7-') ? 'cell' : path}`);
      if (options.refuseUnlink && open.size > 0 && [...open.values()].includes(path)) throw new Error('EBUSY');
    },
    closeSync(fd) {
      log.push(`close ${fd}`);
      open.delete(fd);
    },
    readSync(fd, buffer, offset, length) {
      const bytes = files.get(open.get(fd)!)!;
      buffer.set(bytes.subarray(0, length), offset);
      return Math.min(length, bytes.length);
    },
    writeSync(fd, buffer, offset, length) {
      files.set(open.get(fd)!, buffer.slice(offset, offset + length));
      return length;
    },
  };
  return { fs, log, open };
}

describe('progress cells', () => {
  it('openCell makes a file in the directory, unlinked at once; read() gives the last count written, 0 before any', () => {
    const { fs, log } = memoryFiles();
    const cell = openCell(fs, '/tmp', 7)!;
    expect(log).toEqual([`open ${cell.fd}`, 'unlink cell']);
    expect(cell.read()).toBe(0);
    const write = cellWriter(['entry.js', progressArg(cell.fd)], fs.writeSync)!;
    expect(write(41)).toBe(true);
    expect(write(42)).toBe(true);
    expect(cell.read()).toBe(42);
    cell.close();
    expect(log.at(-1)).toBe(`close ${cell.fd}`);
  });

  it('no file can be made: no cell; a file that cannot be unlinked while open is removed once closed', () => {
    expect(openCell(memoryFiles({ refuseOpen: true }).fs, '/tmp', 7)).toBeUndefined();
    const { fs, log } = memoryFiles({ refuseUnlink: true });
    const cell = openCell(fs, '/tmp', 7)!;
    cell.close();
    expect(log).toEqual([`open ${cell.fd}`, 'unlink cell', `close ${cell.fd}`, 'unlink cell']);
  });

  it('cellWriter: none without the argument; a write that fails says false', () => {
    expect(cellWriter(['entry.js'], () => 4)).toBeUndefined();
    const write = cellWriter([progressArg(CELL_FD)], () => {
      throw new Error('EBADF');
    })!;
    expect(write(1)).toBe(false);
    expect(cellWriter([progressArg(CELL_FD)], () => 2)!(1)).toBe(false);
  });
});

/** A fake child process: what the parent sent it, how it was killed; `emit` plays its events. */
function fakeChild(options: { noChannel?: boolean } = {}) {
  const e = emitter();
  const log: string[] = [];
  const child = {
    pid: 4242,
    channel: { unref: () => void log.push('channel.unref') },
    ...(options.noChannel
      ? {}
      : {
          send: (message: unknown, callback: (error: unknown) => void) => {
            log.push(`send ${JSON.stringify(message)}`);
            callback(null);
          },
        }),
    kill: (signal: string) => void log.push(`kill ${signal}`),
    unref: () => void log.push('unref'),
    on: (event: string, listener: (...args: never[]) => void) => void e.on(event, listener),
    once: (event: string, listener: (...args: never[]) => void) => void e.on(event, listener),
  } as IpcChild;
  return { child, log, emit: e.emit };
}

function fakeHost(overrides: Partial<ChildHost> = {}) {
  const started: { command: string; args: string[]; stdio: unknown[] }[] = [];
  const children: ReturnType<typeof fakeChild>[] = [];
  const exitHooks: (() => void)[] = [];
  const files = memoryFiles();
  const host: ChildHost = {
    process: { pid: 7, platform: 'linux', env: {}, once: (_event, hook) => void exitHooks.push(hook) },
    spawn: (command, args, options) => {
      started.push({ command, args, stdio: options.stdio });
      const c = fakeChild();
      children.push(c);
      return c.child;
    },
    spawnSync: (path) => ({ status: path === '/usr/bin/setpriv' ? 0 : 1 }),
    signals: { SIGTERM: 15, SIGKILL: 9 },
    cells: { files: files.fs, dir: () => '/tmp' },
    ...overrides,
  };
  return { host, started, children, exitHooks, files };
}

const processOptions = (more: Partial<SpawnOptions> = {}): SpawnOptions => ({ kind: 'process', name: 'Process-1', daemon: false, ...more });

describe('childProcesses', () => {
  it('starts the child through setpriv, as fork() would (IPC channel, then the progress cell), and reads its cell after it is gone', () => {
    const { host, started, children, files } = fakeHost();
    const spawnChild = childProcesses(host);
    const r = recorder();
    const handle = spawnChild(processOptions({ progress: true }), r.events, ['/bin/node', 'entry.js']);
    const fd = [...files.open.keys()][0]!;
    expect(started).toEqual([
      {
        command: '/usr/bin/setpriv',
        args: ['--pdeathsig', 'KILL', '--', '/bin/node', 'entry.js', progressArg(CELL_FD), '--threadkit-parent=7:signal'],
        stdio: ['inherit', 'inherit', 'inherit', 'ipc', fd],
      },
    ]);
    expect(handle).toMatchObject({ ident: 4242, pid: 4242 });
    cellWriter([progressArg(fd)], files.fs.writeSync)!(3);
    handle.post({ t: 1 });
    handle.terminate();
    handle.kill();
    const { emit, log } = children[0]!;
    expect(log).toEqual(['send {"t":1}', 'kill SIGTERM', 'kill SIGKILL']);
    emit('message', { hello: 1 });
    emit('exit', null, 'SIGKILL'); // not the end: 'close' comes once every message has arrived
    expect(r.heard).toEqual([['message', { hello: 1 }]]);
    let during = -1;
    r.events.exit = (code) => void r.heard.push(['exit', code, (during = handle.progress!())]);
    emit('close', null, 'SIGKILL');
    expect(r.heard.at(-1)).toEqual(['exit', -9, 3]);
    expect(during).toBe(3);
    expect(files.open.size).toBe(0);
    // Without `progress`, or where no cell may be made: none.
    expect(spawnChild(processOptions(), recorder().events, ['/bin/node', 'entry.js']).progress).toBeUndefined();
    const nowhere = fakeHost({ cells: { files: files.fs, dir: () => undefined } });
    expect(childProcesses(nowhere.host)(processOptions({ progress: true }), recorder().events, ['x']).progress).toBeUndefined();
    expect(nowhere.started[0]!.args).not.toContain(progressArg(CELL_FD));
  });

  it('looks for setpriv once, only where it may read the variable and run it; a child watches its parent with a thread without', () => {
    const asked: string[] = [];
    const { host, started } = fakeHost({
      process: { pid: 7, platform: 'linux', env: { THREADKIT_PARENT_WATCH: 'thread' }, once: () => {} },
      spawnSync: (path) => {
        asked.push(path);
        return { status: 0 };
      },
      mayRead: () => false,
      mayRun: (path) => path === '/bin/setpriv',
    });
    const spawnChild = childProcesses(host);
    spawnChild(processOptions(), recorder().events, ['/bin/deno', 'run', 'entry.js']);
    spawnChild(processOptions(), recorder().events, ['/bin/deno', 'run', 'entry.js']);
    expect(asked).toEqual(['/bin/setpriv']);
    expect(started[1]).toMatchObject({
      command: '/bin/setpriv',
      args: ['--pdeathsig', 'KILL', '--', '/bin/deno', 'run', 'entry.js', '--threadkit-parent=7:signal'],
    });
    const plain = fakeHost({ spawnSync: () => ({ status: 1 }) });
    childProcesses(plain.host)(processOptions(), recorder().events, ['/bin/node', 'entry.js']);
    expect(plain.started[0]).toMatchObject({ command: '/bin/node', args: ['entry.js', '--threadkit-parent=7:thread'] });
  });

  it("a daemon is unref'd, its channel too, and ended with SIGTERM when this program exits", () => {
    const { host, children, exitHooks } = fakeHost();
    childProcesses(host)(processOptions({ daemon: true }), recorder().events, ['x']);
    expect(children[0]!.log).toEqual(['unref', 'channel.unref']);
    expect(exitHooks.length).toBeLessThanOrEqual(1); // installed once per program, maybe by an earlier test
    for (const hook of exitHooks) hook();
    expect(children[0]!.log).toContain('kill SIGTERM');
  });

  it('a child that failed to start: post() sends nothing; its cell is closed if spawn throws', () => {
    const { host, files } = fakeHost({
      spawn: () => {
        throw new Error('EAGAIN');
      },
    });
    expect(() => childProcesses(host)(processOptions({ progress: true }), recorder().events, ['x'])).toThrow('EAGAIN');
    expect(files.open.size).toBe(0);
    const noChannel = fakeChild({ noChannel: true });
    const handle = childProcesses(fakeHost({ spawn: () => noChannel.child }).host)(processOptions(), recorder().events, ['x']);
    expect(() => handle.post({ t: 1 })).not.toThrow();
  });

  it('cloneFirst: what cannot be cloned throws at once, nothing is sent', () => {
    const { host, children } = fakeHost({ cloneFirst: true });
    const handle = childProcesses(host)(processOptions(), recorder().events, ['x']);
    expect(() => handle.post({ f: () => 1 })).toThrow();
    expect(children[0]!.log).toEqual([]);
  });

  it("lastWord: the child's goodbye is not a message; its end comes with 'exit' once the goodbye is here, or a moment after without one", async () => {
    const { host, children } = fakeHost({ lastWord: true });
    const spawnChild = childProcesses(host);
    const r = recorder();
    spawnChild(processOptions(), r.events, ['x']);
    const { emit } = children[0]!;
    emit('message', { a: 1 });
    emit('message', { [EXIT_KEY]: 3 });
    expect(r.heard).toEqual([['message', { a: 1 }]]);
    emit('exit', 3, null);
    expect(r.heard).toEqual([
      ['message', { a: 1 }],
      ['exit', 3],
    ]);
    emit('close', 3, null);
    expect(r.exits()).toEqual([['exit', 3]]);

    const killed = recorder();
    spawnChild(processOptions(), killed.events, ['x']);
    children[1]!.emit('exit', null, 'SIGTERM');
    expect(killed.exits()).toEqual([]);
    children[1]!.emit('message', { late: 1 });
    await until(() => killed.exits().length === 1);
    expect(killed.heard).toEqual([
      ['message', { late: 1 }],
      ['exit', -15],
    ]);
  });
});

function fakeProcess(withChannel = true) {
  const e = emitter();
  const log: string[] = [];
  const pending: (() => void)[] = [];
  const proc: IpcProcess = {
    argv: ['node', 'entry.js', progressArg(CELL_FD)],
    ...(withChannel
      ? {
          send: (message: unknown, _h: undefined, _o: undefined, callback: (error: unknown) => void) => {
            log.push(`send ${JSON.stringify(message)}`);
            pending.push(() => callback(null));
          },
        }
      : {}),
    on: (event: string, listener: (...args: never[]) => void) => void e.on(event, listener),
    exit: (code?: number) => void log.push(`exit ${code}`),
  };
  const flush = (): void => {
    for (const done of pending.splice(0)) done();
  };
  return { proc, log, emit: e.emit, flush };
}

describe('ipcScope', () => {
  it('exits only once the channel has taken every message; exits with 1 once the parent is gone', () => {
    const { proc, log, emit, flush } = fakeProcess();
    const scope = ipcScope(proc);
    expect(scope.progress).toBeUndefined(); // no write given
    const heard: unknown[] = [];
    scope.onMessage((data) => heard.push(data));
    emit('message', { t: 'run' });
    expect(heard).toEqual([{ t: 'run' }]);
    scope.post({ r: 1 });
    scope.exit(0);
    expect(log).toEqual(['send {"r":1}']);
    flush();
    expect(log).toEqual(['send {"r":1}', 'exit 0']);
    const idle = fakeProcess();
    ipcScope(idle.proc).exit(2);
    expect(idle.log).toEqual(['exit 2']);
    idle.emit('disconnect');
    expect(idle.log).toEqual(['exit 2', 'exit 1']);
  });

  it('lastWord: says goodbye with its exit code, last; cloneFirst: what cannot be cloned throws at once; write: the progress cell', () => {
    const { proc, log, flush } = fakeProcess();
    const writes: number[] = [];
    const write = (fd: number, bytes: Uint8Array): number => {
      writes.push(fd, new DataView(bytes.buffer).getInt32(0, true));
      return 4;
    };
    const scope = ipcScope(proc, { lastWord: true, cloneFirst: true, write });
    expect(() => scope.post({ f: () => 1 })).toThrow();
    expect(scope.progress!(5)).toBe(true);
    expect(writes).toEqual([CELL_FD, 5]);
    scope.exit(4);
    expect(log).toEqual([`send {"${EXIT_KEY}":4}`]);
    flush();
    expect(log.at(-1)).toBe('exit 4');
  });

  it('a process without an IPC channel is refused', () => {
    expect(() => ipcScope(fakeProcess(false).proc)).toThrow(/no IPC channel/);
  });
});

/** A fake Web Worker, parent side: `emit` plays its events; what was posted and whether it was terminated. */
function fakeWorker() {
  const e = emitter();
  const posted: unknown[] = [];
  let terminated = 0;
  const worker = {
    postMessage: (data: unknown) => void posted.push(data),
    terminate: () => void terminated++,
    addEventListener: (type: string, listener: (...args: never[]) => void) => void e.on(type, listener),
  };
  return { worker, posted, emit: e.emit, terminated: () => terminated };
}

const errorEvent = (fields: Partial<GlobalErrorEvent>) => {
  const event = { prevented: false, ...fields, preventDefault: () => void (event.prevented = true) };
  return event;
};

describe('webWorkerEnd', () => {
  it('names the life lock first; core hears every message but the goodbye, which ends the worker with its code, once', async () => {
    const r = recorder();
    const life = webWorkerEnd('Thread-1', r.events, () => new Error('no'));
    const w = fakeWorker();
    life.attach(w.worker);
    expect(w.posted).toEqual([{ [LIFE_KEY]: expect.stringMatching(/^threadkit:/) }]);
    w.emit('message', { data: { a: 1 } });
    expect(life.ended).toBe(false);
    w.emit('message', { data: { [EXIT_KEY]: 5 } });
    expect(life.ended).toBe(true);
    expect(w.terminated()).toBe(1);
    w.emit('message', { data: { b: 2 } }); // in flight: heard until the worker is reported gone
    life.end(null);
    await until(() => r.exits().length > 0);
    w.emit('message', { data: { c: 3 } });
    w.emit('messageerror', { data: undefined });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(r.heard).toEqual([
      ['message', { a: 1 }],
      ['message', { b: 2 }],
      ['exit', 5],
    ]);
    expect(w.terminated()).toBe(1);
  });

  it('an error event is a failure to start: reported as `failed` describes it, then exit code 1', async () => {
    const r = recorder();
    const life = webWorkerEnd('Thread-2', r.events, (event) => new Error(`could not start: ${event.message}`), 1_000);
    const w = fakeWorker();
    life.attach(w.worker);
    const event = errorEvent({ message: 'bad entry' });
    w.emit('error', event);
    expect(event.prevented).toBe(true);
    w.emit('error', errorEvent({ message: 'again' }));
    await until(() => r.exits().length > 0);
    expect(r.heard).toEqual([
      ['error', 'could not start: bad entry'],
      ['exit', 1],
    ]);
  });

  it('terminate and kill end it once, with no exit code; a worker never started is reported gone on a later turn', async () => {
    const r = recorder();
    const life = webWorkerEnd('Thread-3', r.events, () => undefined);
    life.end(null);
    life.end(0);
    expect(r.heard).toEqual([]);
    await until(() => r.exits().length > 0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(r.heard).toEqual([['exit', null]]);
  });
});

describe('the worker side of a Web Worker', () => {
  function fakeGlobal() {
    const e = emitter();
    const log: unknown[] = [];
    const global = {
      postMessage: (data: unknown) => void log.push(data),
      close: () => void log.push('close'),
      addEventListener: (type: string, listener: (...args: never[]) => void) => void e.on(type, listener),
    };
    return { global, log, emit: e.emit, count: e.count };
  }

  it('webWorkerScope: handles messages once it holds its life lock; exit says goodbye, then closes with the close it was given', async () => {
    const g = fakeGlobal();
    const scope = webWorkerScope(g.global, async () => ({}));
    const heard: unknown[] = [];
    scope.onMessage((data) => heard.push(data));
    g.emit('message', { data: { t: 'early' } });
    expect(heard).toEqual([]);
    g.emit('message', { data: { [LIFE_KEY]: 'threadkit:test:1' } });
    await until(() => heard.length === 1);
    expect(heard).toEqual([{ t: 'early' }]);
    g.global.close = () => void g.log.push('patched close');
    scope.post({ r: 1 });
    scope.exit(2);
    expect(g.log).toEqual([{ r: 1 }, { [EXIT_KEY]: 2 }, 'close']);
    expect(isGoodbye(g.log[1])).toBe(true);
    expect(isGoodbye(g.log[0])).toBe(false);
    scope.onUncaught(() => {});
    expect(g.count('error')).toBe(1);
    expect(g.count('unhandledrejection')).toBe(1);
  });

  it('catchUncaught: uncaught errors and rejections reach the handler, and the runtime does not report them too', () => {
    const g = fakeGlobal();
    const caught: unknown[] = [];
    catchUncaught(g.global, (error) => caught.push(error instanceof Error ? `Error: ${error.message}` : error));
    const events = [errorEvent({ error: 'thrown' }), errorEvent({ message: 'only a message' }), errorEvent({ reason: 'rejected' })];
    g.emit('error', events[0]);
    g.emit('error', events[1]);
    g.emit('unhandledrejection', events[2]);
    expect(caught).toEqual(['thrown', 'Error: only a message', 'rejected']);
    expect(events.map((e) => e.prevented)).toEqual([true, true, true]);
  });
});
