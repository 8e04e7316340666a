/**
 * `@threadkit/browser/vite`: lets a bundled page keep Node's task-module line unchanged:
 *
 *     const tasks = taskModule<typeof import('./tasks.ts')>(new URL('./tasks.ts', import.meta.url));
 *
 * A bundler compiles `new URL('./tasks.ts', import.meta.url)` only inside `new Worker(...)`;
 * elsewhere it copies the raw file. So this plugin turns each such line into a task module
 * built as its own worker entry: the line becomes
 *
 *     taskModule(bundledTaskModule('/src/tasks.ts', () => new Worker(new URL('./tasks.ts.threadkit-worker.js', import.meta.url), { type: 'module' })))
 *
 * and `tasks.ts.threadkit-worker.js` is a module made here that imports `tasks.ts` and hands
 * it to threadkit's worker loop. Vite then bundles it like any worker, with the task module's
 * own imports, one copy of threadkit, and TypeScript compiled.
 *
 * @example
 * // vite.config.ts
 * import { defineConfig } from 'vite';
 * import { threadkit } from '@threadkit/browser/vite';
 * export default defineConfig({ plugins: [threadkit()] });
 */
import type { Plugin, UserConfig } from 'vite';

/** What the made-up worker entry of a task module is called: the module's path plus this. */
const SUFFIX = '.threadkit-worker.js';

// taskModule, optional type arguments (nested up to three levels, e.g. `typeof import('./x.ts')`), then new URL('<relative path>', import.meta.url).
const CALL = /\btaskModule\s*(<(?:[^<>]|<(?:[^<>]|<[^<>]*>)*>)*>)?\s*\(\s*new\s+URL\s*\(\s*(['"])(\.{1,2}\/[^'"?#]+)\2\s*,\s*import\.meta\.url\s*\)/g;

function clean(id: string): string {
  return id.replace(/[?#].*$/, '');
}

function dirname(file: string): string {
  return file.slice(0, file.lastIndexOf('/'));
}

/** `base` + a relative path, with `.` and `..` resolved (ids are POSIX paths in Vite). */
function join(base: string, relative: string): string {
  const parts = base.split('/');
  for (const part of relative.split('/')) {
    if (part === '..') parts.pop();
    else if (part !== '.' && part !== '') parts.push(part);
  }
  return parts.join('/');
}

/** `code` with its comments blanked out (same length), so examples in comments are left alone. */
function blankComments(code: string): string {
  let out = '';
  let quote = '';
  for (let i = 0; i < code.length; i++) {
    const c = code[i]!;
    if (quote) {
      out += c;
      if (c === '\\') out += code[++i] ?? '';
      else if (c === quote) quote = '';
    } else if (c === "'" || c === '"' || c === '`') {
      quote = c;
      out += c;
    } else if (c === '/' && code[i + 1] === '/') {
      const end = code.indexOf('\n', i);
      const stop = end === -1 ? code.length : end;
      out += ' '.repeat(stop - i);
      i = stop - 1;
    } else if (c === '/' && code[i + 1] === '*') {
      const end = code.indexOf('*/', i + 2);
      const stop = end === -1 ? code.length : end + 2;
      out += code.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop - 1;
    } else {
      out += c;
    }
  }
  return out;
}

/** The Vite plugin. Add it to `plugins`; it adds itself to the worker build and sets `worker.format` to `'es'`. */
export function threadkit(): Plugin {
  let root = '';
  return {
    name: 'threadkit',
    enforce: 'pre',

    config(config: UserConfig) {
      // Worker bundles are built with `worker.plugins`, so the made-up entries must be known there too.
      const worker = (config.worker ??= {});
      const user = worker.plugins;
      if (!(user as { threadkit?: boolean } | undefined)?.threadkit) {
        const plugins = Object.assign(() => [...(user ? user() : []), threadkit()], { threadkit: true });
        worker.plugins = plugins;
      }
      worker.format ??= 'es';
      // Pre-bundling would move the worker entry away from the `new URL('./worker.js', import.meta.url)` next to it.
      const optimizeDeps = (config.optimizeDeps ??= {});
      optimizeDeps.exclude = [...(optimizeDeps.exclude ?? []), '@threadkit/browser', '@threadkit/core'];
    },

    configResolved(config) {
      root = config.root.replace(/\\/g, '/').replace(/\/$/, '');
    },

    resolveId(source, importer) {
      const file = clean(source);
      if (!file.endsWith(SUFFIX)) return null;
      if (file.startsWith(`${root}/`)) return source;
      // A dev server asks for it by URL path (`/src/tasks.ts.threadkit-worker.js`), a build by file path.
      if (file.startsWith('/')) return `${root}${source}`;
      return importer ? join(dirname(clean(importer)), source) : null;
    },

    load(id) {
      const file = clean(id);
      if (!file.endsWith(SUFFIX)) return null;
      const module = file.slice(0, -SUFFIX.length);
      const name = module.startsWith(`${root}/`) ? module.slice(root.length) : module;
      return [
        `import * as tasks from ${JSON.stringify(module)};`,
        `import { serveWorker } from '@threadkit/browser/serve';`,
        `serveWorker({ ${JSON.stringify(`threadkit-task:${name}`)}: tasks });`,
        '',
      ].join('\n');
    },

    transform(code, id) {
      const file = clean(id);
      if (file.includes('/node_modules/') || file.endsWith(SUFFIX) || !/\.[cm]?[jt]sx?$/.test(file) || !code.includes('taskModule')) return null;
      let out = '';
      let at = 0;
      for (const match of blankComments(code).matchAll(CALL)) {
        const [whole, typeArgs, quote, relative] = match as unknown as [string, string | undefined, string, string];
        const module = join(dirname(file), relative);
        const name = module.startsWith(`${root}/`) ? module.slice(root.length) : module;
        const entry = `${relative}${SUFFIX}`;
        out += code.slice(at, match.index);
        out += `taskModule${typeArgs ?? ''}(__threadkit_bundledTaskModule(${JSON.stringify(name)}, () => new Worker(new URL(${quote}${entry}${quote}, import.meta.url), { type: 'module' }))`;
        at = match.index + whole.length;
      }
      if (at === 0) return null;
      out += code.slice(at);
      return { code: `import { bundledTaskModule as __threadkit_bundledTaskModule } from '@threadkit/browser';\n${out}`, map: null };
    },
  };
}
