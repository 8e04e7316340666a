// Checks shared by this adapter's two test runs: vitest on Node and `bun test` on Bun.
import { Event, Lock, Thread, taskModule } from '@threadkit/node';
import { equal } from '@threadkit/core/conformance';

const tasks = taskModule<typeof import('./fixtures/tasks.ts')>(new URL('./fixtures/tasks.ts', import.meta.url));

/** Whether a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether the process is gone within `ms`. */
export async function gone(pid: number, ms = 5_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
    if (!alive(pid)) return true;
  }
  return !alive(pid);
}

/** A thread started by a thread ends with it, and a lock it held is let go once its parent is terminated. */
export async function threadEndsWithParent(): Promise<void> {
  const lock = new Lock();
  const held = new Event();
  const ticks = new Int32Array(new SharedArrayBuffer(4));
  const parent = new Thread({ target: tasks.holdLockInChild, args: [lock, held, ticks] });
  parent.start();
  equal(await held.wait({ timeout: 10_000 }), true);
  equal(await lock.acquire({ timeout: 50 }), false);
  await parent.terminate();
  // The child thread ended with its parent; only the main thread, the parent's parent, saw it.
  equal(await lock.acquire({ timeout: 5_000 }), true);
  lock.release();
  // It really has ended (threadkit relies on the runtime ending a worker's workers with it).
  const seen = Atomics.load(ticks, 0);
  await new Promise((r) => setTimeout(r, 100));
  equal(Atomics.load(ticks, 0), seen, 'the child thread has stopped');
}
