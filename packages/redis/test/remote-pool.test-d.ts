// Type tests of RemotePool: checked by `tsc -p tsconfig.test.json` (part of `pnpm test`). Each
// `@ts-expect-error` fails the build if the line after it stops being an error.
import { taskModule } from '@threadkit/core';
import { type RemotePool, type RemotePoolStats, remoteTasks, type TaskContext, taskContext } from '@threadkit/redis';

const tasks = remoteTasks<typeof import('./fixtures/tasks.ts')>('tasks');
declare const pool: RemotePool;

// apply: the args are the task's parameters, the result its awaited return type.
const sum: Promise<number> = pool.apply(tasks.add, [2, 3], { timeout: 100, maxAttempts: 1, onProgress: (p: unknown) => void p });
const ctx: Promise<{ callId: string; attempt: number }> = pool.apply(tasks.context);
// @ts-expect-error: a wrong argument type
void pool.apply(tasks.add, [2, '3']);
// @ts-expect-error: a missing argument
void pool.apply(tasks.add, [2]);
// @ts-expect-error: args left out for a task that has parameters
void pool.apply(tasks.add);
// @ts-expect-error: the result is a number
const wrong: Promise<string> = pool.apply(tasks.add, [1, 2]);
// @ts-expect-error: an export the module does not have
void pool.apply(tasks.nope, []);
// @ts-expect-error: an inline function: a RemotePool sends no code
void pool.apply((a: number) => a, [1]);
// @ts-expect-error: a local task module's reference: workers elsewhere cannot open its URL
void pool.apply(taskModule<typeof import('./fixtures/tasks.ts')>(new URL('./fixtures/tasks.ts', import.meta.url)).add, [1, 2]);

// map and imap: the items are the task's first parameter; the results its return values.
const doubled: Promise<number[]> = pool.map(tasks.double, [1, 2, 3], { chunksize: 2, onProgress: ({ done, total }) => void (done / total) });
const added: Promise<number[]> = pool.starmap(tasks.add, [
  [1, 2],
  [3, 4],
]);
// @ts-expect-error: items of the wrong type
void pool.map(tasks.double, ['1']);
async function stream(): Promise<void> {
  for await (const x of pool.imapUnordered(tasks.double, [1, 2])) {
    const n: number = x;
    void n;
  }
}

const stats: RemotePoolStats = pool.stats();
const host: string | undefined = stats.hosts[0]?.host;
const c: TaskContext = taskContext();
void [sum, ctx, wrong, doubled, added, stream, host, c];
