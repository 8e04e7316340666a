/**
 * The conformance suite's shared-memory section. Where this realm has no SharedArrayBuffer (a
 * page without cross-origin isolation), the shared transport cannot apply: instead of its tests
 * the suite registers this section, whose name says why, and which checks the fallback: asking
 * for shared memory fails with an error that says what to do, and `auto` serves the API by
 * messages (the message transport's tests run in full beside it).
 */
import { Event, Lock, Pipe, Queue, taskModule, type WorkerKind } from '../index.js';
import { hasSharedMemory } from '../futex.js';
import { kindName, spawner, underTransport } from './helpers.js';
import { deepEqual, equal, match, ok, throws } from './assert.js';
import type { TestApi } from './index.js';

const memoryTasks = taskModule<typeof import('./fixtures/memory-tasks.js')>(new URL('./fixtures/memory-tasks.js', import.meta.url));

/** Whether the shared transport can run here. */
export function sharedMemoryAvailable(): boolean {
  return hasSharedMemory;
}

/** Why the shared transport's tests do not run here, for the section's name. */
export const NO_SHARED_MEMORY =
  'not available here: this realm has no SharedArrayBuffer (a page must be cross-origin isolated, with COOP and COEP headers), so its tests run on the message transport';

/** Registers the section that stands in for the shared transport's tests where it cannot apply. */
export function noSharedMemorySuite(t: TestApi, kind: WorkerKind): void {
  const Kind = kindName(kind);
  const spawn = spawner(kind);

  t.describe(`${Kind}, shared transport: ${NO_SHARED_MEMORY}`, () => {
    t.it('asking for shared memory fails with an error that says why and what to do, not a ReferenceError', () => {
      const shared = underTransport('shared');
      const makers: (() => unknown)[] = [() => new Queue(), () => new Lock(), () => new Event(), () => Pipe()];
      for (const make of makers) {
        const error = throws(
          () => shared(make),
          Error,
          /on shared memory: SharedArrayBuffer is not available here \(a page must be cross-origin isolated, with COOP and COEP headers\); use the 'auto' or 'message' transport/,
        );
        ok(!(error instanceof ReferenceError), 'not a ReferenceError');
      }
    });

    t.it(`'auto' falls back to messages: a Queue reaches a ${Kind.toLowerCase()} as a proxy, and its synchronous forms say what to use instead`, async () => {
      const queue = underTransport('auto')(() => new Queue<string>());
      equal(queue.sharedMemory, false, 'the queue lives in ordinary memory');
      equal(await spawn({ target: memoryTasks.queueSharesMemory, args: [queue] }).result(), false, 'the worker holds a proxy');
      const outcome = (await spawn({ target: memoryTasks.tryPutNowait, args: [queue, 'x'] }).result()) as { name: string; message: string };
      equal(outcome.name, 'UnsupportedError');
      match(outcome.message, /Queue\.putNowait\(\) needs shared memory, which this realm does not share .*use await queue\.put\(item, \{ block: false \}\)/);
      queue.putNowait('from the owner');
      deepEqual([queue.qsize(), await queue.get()], [1, 'from the owner'], 'the owner still has the synchronous forms');
    });
  });
}
