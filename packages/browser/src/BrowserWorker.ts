/**
 * The worker side of the browser adapter: builds core's `WorkerScope` over a dedicated
 * module worker's global scope and hands control to core's worker loop.
 *
 * `worker.ts` (the generic entry) calls {@link serveWorker} with no modules and imports task
 * modules by URL; a task module built as its own worker entry (`@threadkit/browser/vite`)
 * calls it with that module, already imported.
 */
import { UnsupportedError, useRuntime } from '@threadkit/core';
import { runWorker } from '@threadkit/core/worker';
import { webWorkerScope, type WebWorkerGlobal } from '@threadkit/core/adapter';
import { BUNDLED_SCHEME, browserRuntime } from './BrowserRuntime.js';

/** A URL as an error shows it: a data URL (a bundler's inlined asset) cut to its start, not a page of base64. */
function shown(url: string): string {
  if (!url.startsWith('data:') || url.length <= 80) return url;
  return `${url.slice(0, 60)}… (a data URL of ${url.length} characters)`;
}

/** What a bundler makes of a TypeScript file it copies as an asset: a `.ts` file name (hashed), or a data URL of MPEG-TS's type. */
function looksLikeTypeScript(url: string, type: string): boolean {
  if (/^(video\/mp2t|application\/(x-)?typescript|text\/(x-)?typescript)\b/i.test(type)) return true;
  if (url.startsWith('data:')) return false;
  try {
    return /\.[cm]?tsx?$/i.test(new URL(url).pathname);
  } catch {
    return false;
  }
}

/**
 * What to do about a task module that reached the browser as TypeScript: the bundler copied it
 * instead of compiling it. (Written without a quoted path inside `new URL(`: bundlers rewrite that
 * pattern even inside a string.)
 */
const NEEDS_PLUGIN =
  "a TypeScript task module must reach the browser compiled, and a bundler compiles taskModule(new URL(…, import.meta.url)) only with threadkit's plugin (without it, a Vite build copies the file as it is, or inlines it as a data URL): add it to vite.config.ts, import { threadkit } from '@threadkit/browser/vite' and plugins: [threadkit()]; a dev server that compiles TypeScript (vite dev) serves it without the plugin, so only a build shows this";

/**
 * Why a module could not be imported, in words that name it: a browser says only "Failed to
 * fetch dynamically imported module", so ask the server what it answers for the URL; and a
 * module that does not parse gets a SyntaxError that does not say which module.
 */
async function explainImportFailure(url: string, error: unknown): Promise<unknown> {
  const name = shown(url);
  if (error instanceof SyntaxError) {
    // One the module threw while it ran has the module in its stack: that error is the module's own.
    if (error.stack?.includes(url)) return error;
    const hint = looksLikeTypeScript(url, '') ? ` (TypeScript that was not compiled: ${NEEDS_PLUGIN})` : '';
    return new SyntaxError(`${name} does not parse: ${error.message}${hint}`, { cause: error });
  }
  if (!(error instanceof TypeError)) return error;
  let response: Response;
  try {
    response = await fetch(url);
  } catch (fetchError) {
    return new TypeError(`Cannot import ${name}: it could not be fetched (${fetchError instanceof Error ? fetchError.message : String(fetchError)})`, {
      cause: error,
    });
  }
  if (!response.ok) {
    return new TypeError(`Cannot import ${name}: the server answered HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`, {
      cause: error,
    });
  }
  const type = response.headers.get('content-type') ?? '';
  if (!/javascript|ecmascript/i.test(type)) {
    const sent = `${url.startsWith('data:') ? 'it is' : 'the server sent'} ${type || 'no content type'}, not JavaScript`;
    if (looksLikeTypeScript(url, type)) return new TypeError(`Cannot import the task module ${name}: ${sent}: ${NEEDS_PLUGIN}`, { cause: error });
    return new TypeError(`Cannot import ${name}: ${sent} (a TypeScript module needs a dev server such as Vite, or a build)`, { cause: error });
  }
  return new TypeError(`Cannot import ${name}: ${error.message}`, { cause: error });
}

/** Hands this worker to core. `modules` maps a bundled task module's name to its exports. */
export function serveWorker(modules: Readonly<Record<string, Record<string, unknown>>> = {}): void {
  useRuntime(browserRuntime); // tasks may start threads of their own
  const importModule = async (url: string): Promise<Record<string, unknown>> => {
    const own = modules[url];
    if (own) return own;
    if (url.startsWith(BUNDLED_SCHEME)) {
      throw new UnsupportedError(
        `${url.slice(BUNDLED_SCHEME.length)} was built as its own worker entry, so its tasks run only in a worker started for it, and this worker was started for another module; a worker is started for the module of its first task: run this module's tasks in a thread (or playlist) whose first task is one of them`,
      );
    }
    try {
      return (await import(/* @vite-ignore */ url)) as Record<string, unknown>;
    } catch (error) {
      throw await explainImportFailure(url, error);
    }
  };

  // The parent's first message names this worker's life lock; nothing is handled before it is
  // held. Uncaught errors travel in core's protocol; exit() says goodbye, then closes the worker.
  runWorker(webWorkerScope(globalThis as unknown as WebWorkerGlobal, importModule));
}
