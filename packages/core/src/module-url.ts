/**
 * Which file a task module's URL stands for. One `taskModule(new URL('./tasks.ts', import.meta.url))`
 * must work both when the program runs from source (tsx, Node's type stripping, Bun, Deno) and
 * when it runs compiled (`tsc`, then `node dist/main.js`, where only `dist/tasks.js` exists): a
 * module named by its source that is not there is loaded from its compiled form next to it, and
 * one named by its compiled form that is not there from its source. Core decides; the adapter only
 * answers whether a `file:` URL exists ({@link WorkerScope.exists}).
 */
import type { WorkerScope } from './runtime.js';

/** What stands in for a module that is not there: its compiled form for a source, its source for a compiled form. */
const STAND_INS: Readonly<Record<string, readonly string[]>> = {
  '.ts': ['.js'],
  '.tsx': ['.js'],
  '.mts': ['.mjs'],
  '.cts': ['.cjs'],
  '.js': ['.ts', '.tsx'],
  '.mjs': ['.mts'],
  '.cjs': ['.cts'],
};

const EXTENSION = /\.(?:[cm]?[jt]s|tsx)$/i;

/** A `file:` URL's path and what follows it (a query, a fragment); `undefined` for another URL. */
function filePath(url: string): { path: string; tail: string } | undefined {
  const match = /^file:([^?#]*)(.*)$/i.exec(url);
  return match ? { path: match[1]!, tail: match[2]! } : undefined;
}

/** The URLs that may stand in for `url` when nothing is there (none for a URL that is not a `file:` URL or has another extension). */
export function standIns(url: string): string[] {
  const file = filePath(url);
  const extension = file && EXTENSION.exec(file.path)?.[0];
  if (!file || !extension) return [];
  const stem = url.slice(0, 'file:'.length + file.path.length - extension.length);
  return (STAND_INS[extension.toLowerCase()] ?? []).map((other) => stem + other + file.tail);
}

/** A `file:` URL as a path, for messages (the URL itself where it is not one). */
function shown(url: string): string {
  const file = filePath(url);
  if (!file) return url;
  let path = file.path.replace(/^\/\/[^/]*/, '');
  try {
    path = decodeURIComponent(path);
  } catch {
    // shown as it is
  }
  // file:///C:/x on Windows
  return /^\/[a-z]:\//i.test(path) ? path.slice(1).replaceAll('/', '\\') : path;
}

/**
 * The URL to import for the task module `url`: `url` itself when it exists (or `exists` cannot
 * tell), else the first of its {@link standIns} that exists. When none does, throws an error
 * (code `ERR_MODULE_NOT_FOUND`) that names every file looked for and what to do.
 */
export function findTaskModule(url: string, exists: NonNullable<WorkerScope['exists']>): string {
  if (!url.startsWith('file:') || exists(url) !== false) return url;
  const others = standIns(url);
  for (const other of others) {
    if (exists(other) === true) return other;
  }
  const source = /\.(?:[cm]?ts|tsx)$/i.test(filePath(url)!.path);
  const [named, ...rest] = [url, ...others].map(shown);
  const what = rest.length === 0 ? named : `${named}, nor ${source ? 'its compiled form' : 'its source'} ${rest.join(' or ')}`;
  const base = (path: string | undefined): string => path?.split(/[\\/]/).pop() ?? '';
  const hint = source
    ? `; when the program runs compiled (tsc), ${base(rest[0])} is loaded in place of ${base(named)}: compile the task module with the program, into the same output folder (list it in the tsconfig's "include" or "files")`
    : '';
  const error = new Error(
    `Cannot find the task module ${what}: check the URL given to taskModule() (new URL('./tasks.ts', import.meta.url) is relative to the module that makes it)${hint}`,
  );
  (error as Error & { code?: string }).code = 'ERR_MODULE_NOT_FOUND';
  throw error;
}
