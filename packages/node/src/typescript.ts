/**
 * How a worker loads TypeScript task modules: the way its parent runs. A parent run under tsx
 * (`tsx main.ts`, `node --import tsx main.ts`) gives its workers tsx too, on every Node version,
 * so that what tsx accepts in main.ts (`enum`, parameter properties, `./util.js` naming
 * `./util.ts`, tsconfig `paths`) works in threads and processes as well. Otherwise a `.ts` task
 * module runs on Node's own type stripping (Node >= 22.6, Bun), or, on a Node without it, on tsx
 * when it is installed (an optional peer dependency), else fails with an error that says so.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { UnsupportedError } from '@threadkit/core';

/** The variable by which a worker (and its own workers) learns which tsx its parent runs under: the tsx package's folder. */
export const TSX_ENV = 'THREADKIT_TSX';

const LOADER_FLAGS = new Set(['--require', '-r', '--import', '--loader', '--experimental-loader']);

/** The package folder of the tsx a flag's value names: a path inside it (`…/tsx/dist/loader.mjs`) or `tsx` itself (`tsx`, `tsx/esm`). */
function tsxFolder(value: string, cwd: string): string | undefined {
  if (/^tsx(?:\/|$)/.test(value)) {
    try {
      // Node resolves a bare --import from the working directory.
      return dirname(createRequire(join(cwd, 'noop.js')).resolve('tsx/package.json'));
    } catch {
      return undefined;
    }
  }
  let path = value;
  if (value.startsWith('file:')) {
    try {
      path = fileURLToPath(value);
    } catch {
      return undefined;
    }
  }
  return /^(.*[\\/]tsx)[\\/]dist[\\/]/.exec(path)?.[1];
}

/**
 * Splits Node's flags into tsx's (a loader named tsx or inside a tsx package) and the rest, and
 * names the tsx package they load, if any.
 * @example tsxFlags(process.execArgv, process.cwd()) // { tsx: '/app/node_modules/tsx', rest: [] }
 */
export function tsxFlags(execArgv: readonly string[], cwd: string): { tsx: string | undefined; rest: string[] } {
  const rest: string[] = [];
  let tsx: string | undefined;
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    const eq = arg.indexOf('=');
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    if (LOADER_FLAGS.has(flag)) {
      const value = eq < 0 ? execArgv[i + 1] : arg.slice(eq + 1);
      const folder = value === undefined ? undefined : tsxFolder(value, cwd);
      if (folder !== undefined || (value !== undefined && /(^tsx(?:\/|$))|[\\/]tsx[\\/]/.test(value))) {
        tsx ??= folder;
        if (eq < 0) i++;
        continue;
      }
    }
    rest.push(arg);
  }
  return { tsx, rest };
}

/** The tsx this program runs under: named by its parent (a worker's), or by its own flags; `undefined` when none. */
export function parentTsx(): string | undefined {
  const named = process.env[TSX_ENV];
  if (named && existsSync(named)) return named;
  return tsxFlags(process.execArgv, process.cwd()).tsx;
}

/** Whether this runtime loads `.ts` on its own: Bun, and Node with type stripping (on by default from 22.18 and 23.6). */
export function nativeTypeScript(): boolean {
  if (process.versions.bun) return true;
  return Boolean((process.features as { typescript?: unknown }).typescript);
}

/** Whether a module URL names TypeScript. */
export function isTypeScript(url: string): boolean {
  try {
    return /\.(?:[cm]?ts|tsx)$/i.test(new URL(url).pathname);
  } catch {
    return false;
  }
}

/** Whether a `file:` URL names an existing file (`undefined` for another URL, or when it cannot tell). */
export function fileExists(url: string): boolean | undefined {
  if (!url.startsWith('file:')) return undefined;
  try {
    return statSync(fileURLToPath(url), { throwIfNoEntry: false })?.isFile() ?? false;
  } catch {
    return undefined;
  }
}

interface TsxApi {
  register(): unknown;
}

/** Imports what the tsx package in `folder` exports as `subpath` to `import` (its ESM form). */
async function tsxApi(folder: string, subpath: string): Promise<TsxApi> {
  const pkg = JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')) as { exports?: Record<string, unknown> };
  let entry = pkg.exports?.[subpath];
  while (entry && typeof entry === 'object') {
    const conditions = entry as Record<string, unknown>;
    entry = conditions.import ?? conditions.node ?? conditions.default;
  }
  if (typeof entry !== 'string') throw new Error(`the tsx package in ${folder} exports no ${subpath}: install tsx 4 or later (npm i -D tsx)`);
  return (await import(pathToFileURL(join(folder, entry)).href)) as TsxApi;
}

/**
 * Registers tsx in this worker: the parent's (`folder`), or the one installed next to
 * @threadkit/node. Throws an `UnsupportedError` naming tsx when it is needed for `url` and missing.
 */
export async function registerTsx(folder: string | undefined, url: string): Promise<void> {
  let found = folder;
  if (found === undefined) {
    try {
      found = dirname(createRequire(import.meta.url).resolve('tsx/package.json'));
    } catch (error) {
      const path = url.startsWith('file:') ? fileURLToPath(url) : url;
      throw new UnsupportedError(
        `Cannot load the TypeScript task module ${path}: Node ${process.versions.node} does not strip types by itself, and tsx is not installed; ` +
          'install it (npm i -D tsx), which threadkit then uses in its workers, or run on Node >= 22.18 (or 22.6 with --experimental-strip-types), or compile the program (tsc) and run the compiled .js',
        { cause: error },
      );
    }
  }
  // ESM's loader hooks and CommonJS's, as the tsx command registers both.
  (await tsxApi(found, './esm/api')).register();
  (await tsxApi(found, './cjs/api')).register();
}
