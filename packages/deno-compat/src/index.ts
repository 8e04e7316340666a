/**
 * threadkit for Deno. Importing it installs the Deno runtime; everything else is core's API.
 * @example
 * import { Thread, taskModule } from '@threadkit/deno';
 * const tasks = taskModule<typeof import('./tasks.ts')>(new URL('./tasks.ts', import.meta.url));
 * const t = new Thread({ target: tasks.superPlayer, args: ['歌曲1', 3] });
 * t.start(); await t.join();
 */
import { UnsupportedError, useRuntime } from '@threadkit/core';
import { denoRuntime } from './DenoRuntime.js';
import { Deno } from './host.js';

if (!Deno) throw new UnsupportedError("@threadkit/deno runs on Deno; on Node import '@threadkit/node', in a browser '@threadkit/browser'");
useRuntime(denoRuntime);

export * from '@threadkit/core';
export { denoRuntime } from './DenoRuntime.js';
