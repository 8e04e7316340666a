/**
 * The page's task module: the seed's players, the same functions the CLI runs (../src/tasks.ts),
 * and E7/E8 written for a browser, where a worker has a name instead of a pid.
 *
 * main.ts names this module exactly as the CLI does on Node:
 * `taskModule<typeof import('./tasks.ts')>(new URL('./tasks.ts', import.meta.url))`;
 * `@threadkit/browser/vite` builds it as its own worker entry.
 */
import { currentThread, type Connection, type Lock, type Queue } from '@threadkit/browser';

export { music, movie, superPlayer, together } from '../src/tasks.ts';

/** Wall-clock milliseconds comparable across workers (each has its own `performance.timeOrigin`). */
export const now = (): number => performance.timeOrigin + performance.now();

/** One step of proc1 or proc2: what it did, when (epoch ms), and what was sent or received. */
export interface PipeStep {
  readonly what: 'send' | 'recv' | 'received';
  readonly at: number;
  readonly obj?: unknown;
}

/** What proc1 or proc2 returns: who ran it and its steps. */
export interface PipeTrace {
  readonly worker: string;
  readonly steps: PipeStep[];
}

/** E7's `proc1(pipe)`: sends 'hello', then returns what it receives. */
export async function proc1(pipe: Connection): Promise<PipeTrace> {
  // Each send is noted as it begins: over shared memory the other side may have it a microsecond later.
  const steps: PipeStep[] = [{ what: 'send', at: now(), obj: 'hello' }];
  pipe.send('hello');
  steps.push({ what: 'recv', at: now() });
  const rec = await pipe.recv();
  steps.push({ what: 'received', at: now(), obj: rec });
  return { worker: currentThread().name, steps };
}

/** E7's `proc2(pipe)`: receives, then answers 'hello, too'. */
export async function proc2(pipe: Connection): Promise<PipeTrace> {
  const steps: PipeStep[] = [{ what: 'recv', at: now() }];
  const rec = await pipe.recv();
  steps.push({ what: 'received', at: now(), obj: rec });
  steps.push({ what: 'send', at: now(), obj: 'hello, too' });
  pipe.send('hello, too');
  return { worker: currentThread().name, steps };
}

/** What inputQ or outputQ returns: who, the item, when its task began and when its put or get went through. */
export interface QueueStep {
  readonly worker: string;
  readonly info: string;
  readonly start: number;
  readonly done: number;
}

/** E8's `inputQ(queue)`: puts `"<worker>(put):<time>"`, waiting while the queue is full. */
export async function inputQ(queue: Queue<string>): Promise<QueueStep> {
  const start = now();
  const info = `${currentThread().name}(put):${(Date.now() / 1000).toFixed(3)}`;
  await queue.put(info);
  return { worker: currentThread().name, info, start, done: now() };
}

/** E8's `outputQ(queue, lock)`: gets one item, waiting while the queue is empty; "prints" it under the lock. */
export async function outputQ(queue: Queue<string>, lock: Lock): Promise<QueueStep> {
  const start = now();
  const info = await queue.get();
  const done = now();
  await lock.acquire();
  console.log(`${currentThread().name}(get):${info}`);
  lock.release();
  return { worker: currentThread().name, info, start, done };
}
