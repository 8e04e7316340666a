/**
 * threadkit for browsers. Importing it installs the browser runtime; everything else is core's API.
 * @example
 * import { Thread, taskModule } from '@threadkit/browser';
 * const tasks = taskModule<typeof import('./tasks.ts')>(new URL('./tasks.ts', import.meta.url));
 * const t = new Thread({ target: tasks.superPlayer, args: ['歌曲1', 3] });
 * t.start(); await t.join();
 */
import { useRuntime } from '@threadkit/core';
import { browserRuntime } from './BrowserRuntime.js';

useRuntime(browserRuntime);

export * from '@threadkit/core';
export { browserRuntime, bundledTaskModule } from './BrowserRuntime.js';
export type { WorkerFactory } from './BrowserRuntime.js';
