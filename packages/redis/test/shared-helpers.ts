/** Helpers of the shared-object tests: unique names, and child processes that talk in JSON lines. */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

/** A name no other test uses. */
export function unique(what: string): string {
  return `${what}-${randomUUID().slice(0, 8)}`;
}

/** A child `node` process running a fixture: it prints one JSON object a line, and reads commands a line on stdin. */
export interface Child {
  readonly pid: number;
  readonly process: ChildProcess;
  /** Every message so far. */
  readonly messages: Record<string, unknown>[];
  /** Resolves with the first message (from the start) that `match` accepts; rejects when the child exits first or `ms` pass. */
  next(match: (m: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>;
  /** Writes a command line to its stdin. */
  send(command: unknown): void;
  /** Resolves when it has exited, with its exit code and signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(): Promise<void>;
}

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

export function spawnFixture(script: string, args: Record<string, unknown>): Child {
  const child = spawn(process.execPath, [join(fixtures, script), JSON.stringify(args)], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.add(child);
  const messages: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      messages.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      stderr += `${line}\n`;
    }
    for (const w of waiters) w();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
      for (const w of waiters) w();
    });
  });
  let done = false;
  void exited.then(() => {
    done = true;
  });
  return {
    pid: child.pid!,
    process: child,
    messages,
    next(match, ms = 20_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const found = messages.find(match);
          if (found) {
            finish();
            resolve(found);
          } else if (done || child.exitCode !== null || child.signalCode !== null) {
            finish();
            reject(new Error(`${script} exited (${child.exitCode ?? child.signalCode}) before the message; it said ${JSON.stringify(messages)} ${stderr}`));
          }
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`${script}: no such message within ${ms} ms; it said ${JSON.stringify(messages)} ${stderr}`));
        }, ms);
        const finish = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    send(command) {
      child.stdin!.write(`${JSON.stringify(command)}\n`);
    },
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        process.kill(child.pid!, 'SIGKILL');
        await exited;
      }
    },
  };
}
