/**
 * The few Deno and Web Worker globals this adapter uses, typed here: the package builds with
 * `tsc` against `@types/node` (for `node:worker_threads` and `node:child_process`, which Deno
 * implements), and neither Node's nor the DOM's declarations describe Deno's own namespace.
 */
import type { WebWorkerGlobal } from '@threadkit/core/adapter';

/** A permission as `Deno.permissions` names it. */
export type PermissionName = 'read' | 'write' | 'net' | 'env' | 'sys' | 'run' | 'ffi' | 'import';

interface DenoNamespace {
  execPath(): string;
  build: { standalone?: boolean };
  permissions: {
    querySync(descriptor: { name: PermissionName; path?: string; command?: string; variable?: string }): { state: 'granted' | 'prompt' | 'denied' };
  };
}

/** Deno's namespace; `undefined` elsewhere (the adapter then refuses to load: see index.ts). */
export const Deno = (globalThis as unknown as { Deno?: DenoNamespace }).Deno;

/** A module Web Worker, as the parent sees it. */
export interface WebWorker {
  postMessage(data: unknown, transfer?: readonly unknown[]): void;
  terminate(): void;
  addEventListener(type: 'message' | 'messageerror', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'error', listener: (event: { message: string; error: unknown; filename?: string; preventDefault(): void }) => void): void;
}

/** The Web `Worker` constructor. */
export const WebWorker = (globalThis as unknown as { Worker: new (url: string, options: { type: 'module'; name?: string }) => WebWorker }).Worker;

/** The global scope when this realm is a Web Worker, else `undefined`. */
export function webWorkerGlobal(): WebWorkerGlobal | undefined {
  const g = globalThis as unknown as { WorkerGlobalScope?: abstract new () => unknown };
  return typeof g.WorkerGlobalScope === 'function' && globalThis instanceof g.WorkerGlobalScope ? (globalThis as unknown as WebWorkerGlobal) : undefined;
}

/** The number of logical CPUs. */
export function hardwareConcurrency(): number {
  return (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
}

/** Deno's permission errors read `Requires read access to "/x", run again with the --allow-read flag`. */
export function permissionDenied(error: unknown): { name: PermissionName; flag: string; what: string | undefined } | undefined {
  const message = error instanceof Error ? error.message : typeof error === 'string' ? error : '';
  const match = /Requires (\w+) access(?: to "([^"]+)")?.*?(--allow-[\w-]+)/.exec(message);
  return match ? { name: match[1] as PermissionName, what: match[2], flag: match[3]! } : undefined;
}
