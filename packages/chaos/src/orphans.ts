/**
 * Orphans: a parent program starts processes (busy in a loop that never yields, idle, daemon,
 * nested two deep, a Pool's workers) and then ends abruptly. The contract: every process ends
 * with its parent, whatever it is doing, within a couple of seconds; this polls up to
 * `OUTSIDE.gone` for every process below the parent (those it reported, and any other found in
 * /proc) to be gone.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { alive, Census, descendants, killAll, waitGone } from './pids.js';
import { OUTSIDE } from './harness.js';
import { distDir } from './tasks.js';

/** How the parent ends. */
export const ORPHAN_ENDINGS = ['sigkill', 'sigterm', 'uncaught', 'exit'] as const;
export type OrphanEnding = (typeof ORPHAN_ENDINGS)[number];

export interface OrphanOutcome {
  readonly ending: OrphanEnding;
  readonly violations: string[];
  readonly stderr: string;
}

/** Runs the parent, ends it, and checks every process below it goes. Nothing here is random. */
export async function runOrphans(ending: OrphanEnding): Promise<OrphanOutcome> {
  const dir = mkdtempSync(join(tmpdir(), 'threadkit-chaos-orphans-'));
  const violations: string[] = [];
  const parent = spawn(process.execPath, [fileURLToPath(new URL('orphan-parent.js', distDir)), ending, dir], { stdio: ['pipe', 'pipe', 'pipe'] });
  const census = new Census();
  census.watch(parent.pid!);
  let stderr = '';
  parent.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<void>((resolve) => parent.on('exit', () => resolve()));
  let roles: Record<string, number> = {};
  let out = '';
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 120_000);
    parent.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /READY (\{.*\})\n/.exec(out);
      if (m) {
        clearTimeout(timer);
        roles = JSON.parse(m[1]!) as Record<string, number>;
        resolve(true);
      }
    });
    void exited.then(() => resolve(false));
  });
  for (const [role, pid] of Object.entries(roles)) census.add(pid, role);
  for (const proc of descendants(parent.pid!))
    if (!Object.values(roles).includes(proc.pid)) census.add(proc.pid, 'a process found under the parent (a Pool worker)');
  census.stop();
  if (!ready) {
    violations.push(`the parent never reported its children ready${stderr ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`);
    parent.kill('SIGKILL');
  } else {
    // Those it reported must be running now (others the census saw may have come and gone).
    for (const proc of census.all)
      if (proc.what in roles && !alive(proc)) violations.push(`${proc.what} (pid ${proc.pid}) was gone before its parent ended: the setup is wrong`);
    if (ending === 'sigkill') parent.kill('SIGKILL');
    else if (ending === 'sigterm') parent.kill('SIGTERM');
    else parent.stdin.write('go\n');
  }
  await exited;
  const left = await waitGone(census.all, OUTSIDE.gone);
  for (const proc of left) violations.push(`${proc.what} (pid ${proc.pid}) outlived its parent (ended by ${ending}) by ${OUTSIDE.gone} ms`);
  killAll(left);
  parent.stdin.destroy();
  parent.stdout.destroy();
  parent.stderr.destroy();
  rmSync(dir, { recursive: true, force: true });
  return { ending, violations, stderr };
}

export function describeOrphans(o: OrphanOutcome): string {
  return [
    `orphans/${o.ending}: ${o.violations.length} violation(s)`,
    ...o.violations.map((v) => `  - ${v}`),
    `  replay: pnpm --filter @threadkit/chaos chaos -- --only orphans/${o.ending} --runs 1`,
  ].join('\n');
}
