/** Workers for the orphan scenario: each writes its pid under its role, then stays busy or idle. */
import { writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Process, taskModule } from '@threadkit/node';

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

/** Marks, then waits forever with an idle event loop. */
export function idle(dir: string, role: string): Promise<never> {
  mark(dir, role);
  return new Promise<never>(() => {});
}

/**
 * Marks, starts processes of its own (`children`: each busy or idle), then waits forever: idle, or
 * (busy) spinning once its children have marked (before that its event loop must stay free to
 * send them their tasks).
 */
export async function nest(dir: string, role: string, busyAfter: boolean, children: readonly ('busy' | 'idle')[]): Promise<never> {
  mark(dir, role);
  for (const child of children) new Process({ target: child === 'busy' ? self.busy : self.idle, args: [dir, `${role}.${child}`] }).start();
  if (!busyAfter) return new Promise<never>(() => {});
  const want = children.map((child) => `pid-${role}.${child}`);
  while (!want.every((name) => readdirSync(dir).includes(name))) await new Promise((r) => setTimeout(r, 10));
  for (;;) {
    // Spinning on purpose.
  }
}
