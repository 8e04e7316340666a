/**
 * The task a worker's local `Pool` runs for each job: it imports the named task module (once per
 * thread), decodes the arguments, sets the task's context, calls the export (for each item of a
 * `map` chunk), and encodes the result. Decoding and encoding happen here, in the pool's thread or
 * process, so the worker's main thread only moves bytes and keeps its BullMQ leases renewed.
 */
import { fileURLToPath } from 'node:url';
import { TaskNotFoundError, UnsupportedError } from '@threadkit/core';
import { Decoder, Encoder } from '@threadkit/core/codec';
import { KIND_APPLY, KIND_STARMAP } from './protocol.js';
import { CONTEXT, PROGRESS, type ProgressSink, type TaskContext } from './tasks.js';

const modules = new Map<string, Promise<Record<string, unknown>>>();
const encoder = new Encoder();
const decoder = new Decoder();

// TypeScript task modules: Node >= 22.6 strips types itself; older Nodes get tsx's loader, once,
// unless this pool worker already runs under its parent's tsx (@threadkit/node registers it then).
// tsx is an optional peer dependency: missing, the error says so.
let tsx: Promise<unknown> | undefined;
async function importModule(url: string): Promise<Record<string, unknown>> {
  if (/\.[cm]?tsx?$/i.test(new URL(url).pathname) && !(process.features as { typescript?: unknown }).typescript && !process.env.THREADKIT_TSX) {
    tsx ??= import('tsx/esm/api').then(
      ({ register }) => register(),
      (error: unknown) => {
        throw new UnsupportedError(
          `Cannot load the TypeScript task module ${url.startsWith('file:') ? fileURLToPath(url) : url}: Node ${process.versions.node} does not strip types by itself, and tsx is not installed; ` +
            'install it (npm i -D tsx), which threadkit then uses in its workers, or run on Node >= 22.18 (or 22.6 with --experimental-strip-types), or compile the task module (tsc) and name the compiled .js',
          { cause: error },
        );
      },
    );
    await tsx;
  }
  return (await import(url)) as Record<string, unknown>;
}

async function load(url: string): Promise<Record<string, unknown>> {
  let m = modules.get(url);
  if (!m) {
    m = importModule(url);
    modules.set(url, m);
    m.catch(() => modules.delete(url));
  }
  return m;
}

// biome-ignore lint/suspicious/noExplicitAny: a task's arguments are whatever it takes
type Fn = (...args: any[]) => unknown;

/**
 * Runs one job's call: `kind` is KIND_APPLY (payload = args) or a map chunk (payload = items);
 * `around` runs the task's own part, with its context set. Returns the codec bytes of the result.
 */
export async function execute(
  moduleName: string,
  url: string,
  exportName: string,
  kind: number,
  payload: Uint8Array,
  around: (call: () => Promise<unknown>) => Promise<unknown>,
): Promise<Uint8Array> {
  const mod = await load(url);
  const fn = Object.hasOwn(mod, exportName) ? mod[exportName] : undefined;
  if (typeof fn !== 'function') {
    const names = Object.keys(mod).filter((k) => typeof mod[k] === 'function');
    throw new TaskNotFoundError(moduleName, exportName, names);
  }
  const input = decoder.decode(payload) as unknown[];
  const value = await around(async () => {
    if (kind === KIND_APPLY) return await (fn as Fn)(...input);
    const out = new Array<unknown>(input.length);
    for (let i = 0; i < input.length; i++) {
      const r = kind === KIND_STARMAP ? (fn as Fn)(...(input[i] as unknown[])) : (fn as Fn)(input[i]);
      out[i] = r instanceof Promise ? await r : r;
    }
    return out;
  });
  return encoder.encode(value, 'result').slice();
}

/**
 * Runs one job's call in a thread or process of the local pool, which runs one task at a time:
 * the task's context sits in this thread's slots while it runs.
 */
export function run(
  moduleName: string,
  url: string,
  exportName: string,
  kind: number,
  payload: Uint8Array,
  context: TaskContext & { progress?: ProgressSink },
): Promise<Uint8Array> {
  const { progress, ...ctx } = context;
  return execute(moduleName, url, exportName, kind, payload, async (call) => {
    const slot = globalThis as { [CONTEXT]?: TaskContext; [PROGRESS]?: ProgressSink };
    slot[CONTEXT] = ctx;
    slot[PROGRESS] = progress;
    try {
      return await call();
    } finally {
      slot[CONTEXT] = undefined;
      slot[PROGRESS] = undefined;
    }
  });
}
