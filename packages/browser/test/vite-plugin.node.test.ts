// @threadkit/browser/vite, on Node: what it writes, and what a real Vite build makes of a page with it.
import { fileURLToPath } from 'node:url';
import { build, type Plugin, type Rollup } from 'vite';
import { describe, expect, it } from 'vitest';
import { threadkit } from '../src/vite.ts';

const root = fileURLToPath(new URL('./fixtures/bundled', import.meta.url));

function hooks(plugin: Plugin) {
  const call = (hook: unknown, ...args: unknown[]) =>
    (typeof hook === 'function' ? hook : (hook as { handler: (...args: unknown[]) => unknown }).handler).apply({}, args);
  call(plugin.configResolved, { root });
  return {
    transform: (code: string, id: string) => call(plugin.transform, code, id) as { code: string } | null,
    resolveId: (source: string, importer?: string) => call(plugin.resolveId, source, importer, {}) as string | null,
    load: (id: string) => call(plugin.load, id) as string | null,
  };
}

describe('the Vite plugin', () => {
  const plugin = hooks(threadkit());

  it("rewrites taskModule(new URL('./x.ts', import.meta.url)) into a task module built as its own worker entry", () => {
    const out = plugin.transform(`const tasks = taskModule<typeof import('./tasks.ts')>(new URL('./tasks.ts', import.meta.url));`, `${root}/main.ts`)!;
    expect(out.code).toContain(`import { bundledTaskModule as __threadkit_bundledTaskModule } from '@threadkit/browser';`);
    expect(out.code).toContain(
      `taskModule<typeof import('./tasks.ts')>(__threadkit_bundledTaskModule("/tasks.ts", () => new Worker(new URL('./tasks.ts.threadkit-worker.js', import.meta.url), { type: 'module' })));`,
    );
  });

  it('leaves comments, other URLs and dependencies alone', () => {
    expect(
      plugin.transform(`// taskModule(new URL('./a.ts', import.meta.url))\n/* taskModule(new URL('./b.ts', import.meta.url)) */`, `${root}/main.ts`),
    ).toBeNull();
    expect(plugin.transform(`taskModule(new URL(name, import.meta.url)); taskModule('https://x/y.js')`, `${root}/main.ts`)).toBeNull();
    expect(plugin.transform(`taskModule(new URL('./a.js', import.meta.url))`, `${root}/node_modules/lib/index.js`)).toBeNull();
  });

  it('makes the worker entry: it imports the task module and serves it under the name the page uses', () => {
    const id = plugin.resolveId('./tasks.ts.threadkit-worker.js', `${root}/main.ts`)!;
    expect(id).toBe(`${root}/tasks.ts.threadkit-worker.js`);
    expect(plugin.resolveId('/tasks.ts.threadkit-worker.js?worker_file&type=module')).toBe(`${root}/tasks.ts.threadkit-worker.js?worker_file&type=module`);
    expect(plugin.load(id)).toBe(
      [
        `import * as tasks from "${root}/tasks.ts";`,
        `import { serveWorker } from '@threadkit/browser/serve';`,
        `serveWorker({ "threadkit-task:/tasks.ts": tasks });`,
        '',
      ].join('\n'),
    );
  });

  it('a Vite build turns the task module into a compiled worker chunk, not a raw copy of tasks.ts', async () => {
    const result = (await build({ root, logLevel: 'silent', plugins: [threadkit()], build: { write: false } })) as Rollup.RollupOutput;
    const files = result.output.map((o) => o.fileName);
    const worker = result.output.find((o) => /tasks\.ts\.threadkit-worker-[\w-]+\.js$/.test(o.fileName));
    expect(worker, `a worker chunk among ${files.join(', ')}`).toBeDefined();
    const code = worker!.type === 'asset' ? String(worker!.source) : worker!.code;
    expect(code).toMatch(/threadkit-task:\/tasks\.ts/);
    expect(code).toContain('__threadkit_exit__'); // threadkit's worker side is bundled in, not left as an import
    expect(code).not.toMatch(/n: number/); // compiled: no TypeScript left
    expect(
      files.some((f) => /tasks-[\w-]+\.ts$/.test(f)),
      'no raw tasks.ts asset',
    ).toBe(false);
    const page = result.output.find((o) => o.type === 'chunk' && o.isEntry) as Rollup.OutputChunk;
    expect(page.code).toContain(worker!.fileName.split('/').pop());
    expect(page.code).not.toContain('nope.ts');
  }, 60_000);

  it('without the plugin, a Vite build inlines tasks.ts uncompiled as a data URL of MPEG-TS type (the worker then names the plugin: see browser.test.ts)', async () => {
    const result = (await build({ root, logLevel: 'silent', build: { write: false } })) as Rollup.RollupOutput;
    const page = result.output.find((o) => o.type === 'chunk' && o.isEntry) as Rollup.OutputChunk;
    const inlined = /data:video\/mp2t;base64,([A-Za-z0-9+/=]+)/.exec(page.code);
    expect(inlined, 'a data URL in the page').not.toBeNull();
    expect(Buffer.from(inlined![1]!, 'base64').toString()).toMatch(/n: number/);
  }, 60_000);
});
