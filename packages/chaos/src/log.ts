/**
 * The record that survives a worker's death: each worker appends lines to a file of its own with
 * a synchronous write, so whatever it wrote before it was killed is there afterwards, whatever
 * state threadkit's objects were left in. (A queue or pipe would be the thing under test.)
 */
import { appendFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Appends one line to `file`. */
export function record(file: string, line: string): void {
  appendFileSync(file, `${line}\n`);
}

/** The lines of `file` ([] when it was never written). A line cut short by a kill is dropped. */
export function readLines(file: string): string[] {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n');
  lines.pop();
  return lines;
}

/** The files in `dir` whose names start with `prefix`, with their lines. */
export function readLogs(dir: string, prefix: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith(prefix)) out.set(name, readLines(join(dir, name)));
  }
  return out;
}
