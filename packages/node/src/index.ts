/**
 * threadkit for Node.js. Importing it installs the Node runtime; everything else is core's API.
 * @example
 * import { Thread, taskModule } from '@threadkit/node';
 * const tasks = taskModule<typeof import('./tasks.ts')>(new URL('./tasks.ts', import.meta.url));
 * const t = new Thread({ target: tasks.superPlayer, args: ['歌曲1', 3] });
 * t.start(); await t.join();
 */
import { useRuntime } from '@threadkit/core';
import { nodeRuntime } from './NodeRuntime.js';

useRuntime(nodeRuntime);

export * from '@threadkit/core';
export { nodeRuntime } from './NodeRuntime.js';
