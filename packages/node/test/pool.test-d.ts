// Type tests of Pool: checked by `tsc -p tsconfig.test.json` (part of `pnpm test`). Each
// `@ts-expect-error` fails the build if the line after it stops being an error.
import { Pool, taskModule, type PoolStats } from '@threadkit/node';

const tasks = taskModule<typeof import('./fixtures/pool-tasks.ts')>(new URL('./fixtures/pool-tasks.ts', import.meta.url));
declare const pool: Pool;

// apply: the args are the task's parameters, the result its awaited return type.
const id: Promise<number> = pool.apply(tasks.work, [1, 5, 'ok']);
const pid: Promise<number> = pool.apply(tasks.pid);
const inline: Promise<number> = pool.apply((a: number, b: number) => a * b, [6, 7], { timeout: 100 });
// @ts-expect-error: a wrong argument type
void pool.apply(tasks.work, [1, '5', 'ok']);
// @ts-expect-error: a missing argument
void pool.apply(tasks.work, [1]);
// @ts-expect-error: an outcome that does not exist
void pool.apply(tasks.work, [1, 5, 'maybe']);
// @ts-expect-error: args left out for a task that has parameters
void pool.apply(tasks.slowSquare);
// @ts-expect-error: the result is a number
const wrong: Promise<string> = pool.apply(tasks.slowSquare, [3]);

// map and imap: the items are the task's first parameter; the results its return values.
const squares: Promise<number[]> = pool.map(tasks.slowSquare, [1, 2, 3], { chunksize: 2, onProgress: ({ done, total }) => void (done / total) });
// @ts-expect-error: items of the wrong type
void pool.map(tasks.slowSquare, ['1']);
async function stream(): Promise<void> {
  for await (const x of pool.imap(tasks.slowSquare, [1, 2])) {
    const n: number = x;
    void n;
  }
  for await (const x of pool.imapUnordered(
    tasks.slowSquare,
    (async function* () {
      yield 1;
    })(),
  ))
    void (x satisfies number);
}
// starmap: each item is the task's argument list.
const ids: Promise<number[]> = pool.starmap(tasks.work, [
  [1, 5, 'ok'],
  [2, 0, 'throw'],
]);
// @ts-expect-error: an item that is not an argument list of work
void pool.starmap(tasks.work, [[1, 5]]);

// A misspelt option is a compile error too (and a TypeError at run time for untyped callers).
// @ts-expect-error: no option sise
void new Pool({ sise: 4 });
// @ts-expect-error: imap takes no timeout
void pool.imap(tasks.slowSquare, [1], { timeout: 5 });

const stats: PoolStats = pool.stats();
const p99: number = stats.runTime.p99;

// `await using` ends the pool with its scope.
async function scoped(): Promise<void> {
  await using scopedPool = new Pool({ size: 2, kind: 'process', maxTasksPerChild: 10, idleTimeout: 1000, maxQueue: 100, abortGrace: 500 });
  void scopedPool;
}
void [id, pid, inline, wrong, squares, stream, ids, p99, scoped];
