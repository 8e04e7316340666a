/** Workers for the orphan scenario: each writes its pid under its role, then stays busy or idle. */
import { writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Process, Thread, taskModule, type Barrier } from '@threadkit/node';

const self = taskModule<typeof import('./orphans.js')>(new URL(import.meta.url));

/** Writes this process's pid as `<dir>/pid-<role>`. */
export function mark(dir: string, role: string): void {
  writeFileSync(join(dir, `pid-${role}`), String(process.pid));
}

/** Marks, then runs a loop that never yields: it cannot read a message or see its channel close. */
export function busy(dir: string, role: string): never {
  mark(dir, role);
  for (;;) {
    // Spinning on purpose.
  }
}

/** A thread that spins without marking (it shares its process's pid). */
export function spin(): never {
  for (;;) {
    // Spinning on purpose.
  }
}

/** Marks, then waits forever with an idle event loop. */
export function idle(dir: string, role: string): Promise<never> {
  mark(dir, role);
  return new Promise<never>(() => {});
}

/**
 * Marks, starts a busy and an idle process of its own and a spinning thread, then waits forever:
 * idle, or (busy) spinning once its children have marked (before that its event loop must stay
 * free to send them their tasks).
 */
export async function nest(dir: string, role: string, busyAfter: boolean): Promise<never> {
  mark(dir, role);
  new Process({ target: self.busy, args: [dir, `${role}.busy`] }).start();
  new Process({ target: self.idle, args: [dir, `${role}.idle`] }).start();
  new Thread({ target: self.spin, args: [] }).start();
  if (!busyAfter) return new Promise<never>(() => {});
  const want = [`pid-${role}.busy`, `pid-${role}.idle`];
  while (!want.every((name) => readdirSync(dir).includes(name))) await new Promise((r) => setTimeout(r, 10));
  for (;;) {
    // Spinning on purpose.
  }
}

/** Marks, and waits at `barrier` until every party has come (so each pool worker runs one). */
export async function meet(barrier: Barrier, dir: string, role: string): Promise<number> {
  mark(dir, role);
  await barrier.wait();
  return process.pid;
}
