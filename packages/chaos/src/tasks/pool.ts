/** The pool scenario's task: it logs its start (and its end), then does what its behaviour says. */
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { exit, taskSignal } from '@threadkit/node';
import { record } from '../log.js';

export type Behavior = 'ok' | 'slow' | 'busy' | 'throw' | 'exit' | 'uncaught' | 'hang' | 'cooperate' | 'victim';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Logs `start <id> <pid>` to a file of this worker's own, then: returns `id` (ok, after `ms`
 * asleep (slow) or busy (busy)), throws, calls exit(1), throws from a timer (uncaught), waits
 * forever ignoring its signal (hang), waits until its signal aborts (cooperate), or logs
 * `victim <id> <pid>` and waits to be killed (victim). Logs `end <id>` before it returns.
 */
export async function job(dir: string, id: number, behavior: Behavior, ms: number): Promise<number> {
  const log = join(dir, `pool-${process.pid}-${threadId}.log`);
  record(log, `start ${id} ${process.pid}`);
  switch (behavior) {
    case 'slow':
      await sleep(ms);
      break;
    case 'busy': {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        // Running without yielding.
      }
      break;
    }
    case 'throw':
      throw new Error(`task ${id} throws`);
    case 'exit':
      return exit(1);
    case 'uncaught':
      setTimeout(() => {
        throw new Error(`task ${id} throws from a timer`);
      }, 0);
      return new Promise<never>(() => {});
    case 'hang':
      return new Promise<never>(() => {});
    case 'cooperate': {
      const signal = taskSignal();
      while (!signal.aborted) await sleep(2);
      throw new Error(`task ${id} stopped: its signal aborted`);
    }
    case 'victim':
      record(log, `victim ${id} ${process.pid}`);
      return new Promise<never>(() => {});
    case 'ok':
      break;
  }
  record(log, `end ${id}`);
  return id;
}
