// What only a browser shows: which memory mode the page is in, how module loading fails,
// that the page's main thread never blocks, and what a Process is here.
import { Event, Lock, Process, Queue, Semaphore, Thread, WorkerStartError, browserRuntime, bundledTaskModule, taskModule } from '@threadkit/browser';
import { describe, expect, inject, it } from 'vitest';

declare module 'vitest' {
  // biome-ignore lint/suspicious/noExportsInTest: vitest's own interface, augmented for inject()
  export interface ProvidedContext {
    isolated: boolean;
  }
}

const tasks = taskModule<typeof import('./fixtures/tasks.ts')>(new URL('./fixtures/tasks.ts', import.meta.url));
const isolated = inject('isolated');
/** How long to wait for a worker to get somewhere: a bound for a hang, below the 30 s test limit, not a speed check. */
const PATIENCE_MS = 25_000;

/** Resolves once this thread's 10 ms timer has fired `n` times (each time `counts()` says it counts). */
function ticks(n: number, counts: () => boolean = () => true): Promise<void> {
  let fired = 0;
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (counts() && ++fired === n) {
        clearInterval(timer);
        resolve();
      }
    }, 10);
  });
}

describe(`the page (${isolated ? 'cross-origin isolated' : 'not isolated'})`, () => {
  it(
    isolated
      ? 'is cross-origin isolated: SharedArrayBuffer exists and threads share memory'
      : 'is not isolated: SharedArrayBuffer is undefined and everything goes by messages',
    () => {
      expect(crossOriginIsolated).toBe(isolated);
      expect(typeof SharedArrayBuffer).toBe(isolated ? 'function' : 'undefined');
      expect(browserRuntime.capabilities).toEqual({ processes: false, sharedMemory: isolated });
      expect(new Queue().sharedMemory).toBe(isolated);
    },
  );

  it('a thread gets a Queue over shared memory where the page is isolated, else a proxy', async () => {
    const queue = new Queue();
    const t = new Thread({ target: tasks.describeQueue, args: [queue] });
    t.start();
    expect(await t.result()).toEqual({ shared: isolated, kind: 'thread', isolated });
  });

  it('a Process is an isolated worker: no pid, and what it is given is reached by messages even where threads share memory', async () => {
    const queue = new Queue();
    const p = new Process({ target: tasks.describeQueue, args: [queue] });
    p.start();
    expect(p.pid).toBeUndefined();
    expect(typeof p.ident).toBe('number');
    expect(await p.result()).toEqual({ shared: false, kind: 'process', isolated });
    expect(p.exitCode).toBe(0);
  });
});

describe('terminate()', () => {
  it('reports the end once the worker has stopped: what it held is released only then', async () => {
    const [lock, held] = [new Lock(), new Event()];
    // Where the page shares memory, the worker counts in it, so the page can see whether it still runs.
    const counter = isolated ? new Int32Array(new SharedArrayBuffer(4)) : undefined;
    const t = new Thread({ target: tasks.holdAndCount, args: [lock, held, counter] });
    t.start();
    expect(await held.wait({ timeout: PATIENCE_MS })).toBe(true);
    await t.terminate();
    expect(t.exitCode).toBe(-15);
    if (counter) {
      const after = Atomics.load(counter, 0);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(Atomics.load(counter, 0), 'the worker stopped counting before its end was reported').toBe(after);
    }
    expect(await lock.acquire({ timeout: PATIENCE_MS })).toBe(true);
    expect(lock.ownerDied).toBe(true);
    lock.release();
  });
});

describe('task modules that cannot load', () => {
  it('a URL that answers 404: WorkerStartError naming the URL and the HTTP status', async () => {
    const url = new URL('/no/such/tasks.js', location.href).href;
    const missing = taskModule<{ f(): void }>(url);
    const t = new Thread({ target: missing.f });
    t.start();
    const error = await t.result().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerStartError);
    expect((error as Error).message).toMatch(
      /Cannot start f on Thread-\d+: its module failed to load: TypeError: Cannot import http:\/\/[^ ]+\/no\/such\/tasks\.js: the server answered HTTP 404/,
    );
    expect(t.exitCode).toBe(1);
  });

  it('a module that does not parse: WorkerStartError naming the URL and the SyntaxError', async () => {
    const bad = taskModule<{ unfinished(): void }>(new URL('/unparsable.js', location.href));
    const t = new Thread({ target: bad.unfinished });
    t.start();
    const error = await t.result().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerStartError);
    expect((error as Error).message).toMatch(/its module failed to load: SyntaxError: http:\/\/[^ ]+\/unparsable\.js does not parse: /);
  });

  // What a page built by Vite without @threadkit/browser/vite does: it copies tasks.ts as an asset,
  // inlined as a data URL of MPEG-TS's type when small, a hashed .ts file when not.
  const source = 'export function double(n: number): number {\n  return n * 2;\n}\n// a task module a little longer than a line\n';

  it('a TypeScript task module a build inlined as a data URL: WorkerStartError naming @threadkit/browser/vite, not the base64', async () => {
    const url = `data:video/mp2t;base64,${btoa(source)}`;
    const copied = taskModule<{ double(n: number): number }>(url);
    const t = new Thread({ target: copied.double, args: [21] });
    t.start();
    const error = await t.result().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerStartError);
    const message = (error as Error).message;
    expect(message).toMatch(
      /its module failed to load: TypeError: Cannot import the task module data:video\/mp2t;base64,\S+… \(a data URL of \d+ characters\): it is video\/mp2t, not JavaScript: /,
    );
    expect(message).toContain("import { threadkit } from '@threadkit/browser/vite' and plugins: [threadkit()]");
    expect(message).not.toContain(url);
  });

  it('a TypeScript task module a build copied as a file, served as JavaScript: WorkerStartError naming @threadkit/browser/vite', async () => {
    const copied = taskModule<{ double(n: number): number }>(new URL('/copied-tasks-B4xQ9v.ts', location.href));
    const t = new Thread({ target: copied.double, args: [21] });
    t.start();
    const error = await t.result().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerStartError);
    expect((error as Error).message).toMatch(
      /SyntaxError: http:\/\/[^ ]+\/copied-tasks-B4xQ9v\.ts does not parse: .+ \(TypeScript that was not compiled: .*'@threadkit\/browser\/vite'/,
    );
  });
});

describe('task modules built as their own worker entry (what @threadkit/browser/vite writes)', () => {
  // Stands in for a bundled entry: a worker that serves no module of its own.
  let started = 0;
  const elsewhere = taskModule<{ f(): void }>(
    bundledTaskModule('/elsewhere.ts', () => {
      started++;
      return new Worker(new URL('../src/worker.ts', import.meta.url), { type: 'module' });
    }),
  );

  it('a worker runs the tasks of the module it was started for; another bundled module fails with an error that says why', async () => {
    class Mixed extends Thread {
      protected override async run(): Promise<unknown> {
        await this.invoke(tasks.spin, 1); // the first task decides the worker: the generic entry
        return this.invoke(elsewhere.f);
      }
    }
    const t = new Mixed();
    const before = started;
    t.start();
    const error = await t.result().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerStartError);
    expect((error as Error).message).toMatch(/\/elsewhere\.ts was built as its own worker entry, so its tasks run only in a worker started for it/);
    expect(started).toBe(before);
  });

  it("a thread whose first task is a bundled module's starts that module's worker entry", async () => {
    const before = started;
    const t = new Thread({ target: elsewhere.f });
    t.start();
    expect(started).toBe(before + 1);
    // The stand-in serves no module, so the task itself fails there.
    await expect(t.result()).rejects.toThrow(WorkerStartError);
  });
});

describe("the page's main thread", () => {
  it('may not block: Atomics.wait throws here', () => {
    // Isolated: the main thread of a page may not wait. Not isolated: there is no shared memory to wait on.
    const memory = isolated ? new SharedArrayBuffer(4) : new ArrayBuffer(4);
    expect(() => Atomics.wait(new Int32Array(memory), 0, 0, 1)).toThrow(TypeError);
  });

  it('keeps running while it waits for a Lock a worker holds: its timers fire all along', async () => {
    const [lock, held, letGo] = [new Lock(), new Event(), new Event()];
    const holder = new Thread({ target: tasks.holdLockUntil, args: [lock, held, letGo] });
    holder.start();
    expect(await held.wait({ timeout: PATIENCE_MS })).toBe(true);
    let acquired = false;
    const acquiring = lock.acquire({ timeout: PATIENCE_MS }).then((ok) => (acquired = ok));
    // The holder lets go only once this thread's timer has fired 5 times during the wait: a main
    // thread blocked in acquire() would never get there, and the wait would time out.
    await ticks(5, () => !acquired);
    expect(acquired, 'still waiting: the worker holds the lock until told').toBe(false);
    letGo.set();
    expect(await acquiring).toBe(true);
    lock.release();
    await holder.join();
  });

  it('stays responsive while two threads compute: its timers fire while both are busy', async () => {
    const [computing, stop] = [new Semaphore(0), new Event()];
    const workers = [0, 1].map(() => new Thread({ target: tasks.computeUntil, args: [computing, stop] }));
    for (const w of workers) w.start();
    for (const _ of workers) expect(await computing.acquire({ timeout: PATIENCE_MS }), 'a worker computes').toBe(true);
    // Both compute until told to stop, and they are told only after 5 of this thread's ticks.
    await ticks(5);
    stop.set();
    await Promise.all(workers.map((w) => w.join()));
    expect(workers.map((w) => w.exitCode)).toEqual([0, 0]);
  });
});
