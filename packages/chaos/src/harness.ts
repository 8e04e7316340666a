/**
 * Runs one scenario as a program of its own and judges it from the outside: its report, that it
 * finished, that it then exited by itself with code 0, and that every process it started is gone.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Census, killAll, waitGone } from './pids.js';
import type { Report, Variant } from './scenario.js';
import { distDir } from './tasks.js';

/** Bounds of the outside checks; generous, since they only turn a hang into a report. */
export const OUTSIDE = {
  /** From start until the report is printed. */
  run: 240_000,
  /** From the report until the program has exited by itself. */
  exit: 30_000,
  /** From the program's exit until every process it started is gone. */
  gone: 15_000,
} as const;

export interface Outcome {
  readonly scenario: string;
  readonly variant: Variant;
  readonly seed: number;
  readonly violations: string[];
  readonly report: Report | undefined;
  readonly ms: number;
  readonly pids: number[];
  readonly stderr: string;
}

/** The command that runs this one scenario again with the same plan. */
export function replayCommand(scenario: string, variant: string, seed: number): string {
  return `pnpm --filter @threadkit/chaos chaos -- --only ${scenario}/${variant} --seed ${seed} --runs 1`;
}

/** A failure message: the violations, the seed and how to replay, and the end of stderr. */
export function describeOutcome(o: Outcome): string {
  const lines = [
    `${o.scenario}/${o.variant} seed ${o.seed}: ${o.violations.length} violation(s)`,
    ...o.violations.map((v) => `  - ${v}`),
    ...(o.report?.notes ?? []).map((n) => `  note: ${n}`),
    `  replay: ${replayCommand(o.scenario, o.variant, o.seed)}`,
  ];
  const tail = o.stderr.trim().split('\n').slice(-15).join('\n    ');
  if (tail) lines.push(`  stderr (end):\n    ${tail}`);
  return lines.join('\n');
}

/** Runs `node dist/<program> ...args` and checks it as above; `onLine` sees each stdout line. */
export async function runProgram(
  program: string,
  args: readonly string[],
  options: { onLine?: (line: string) => void; bounds?: Partial<typeof OUTSIDE> } = {},
): Promise<{ violations: string[]; reportLine: string | undefined; pids: number[]; ms: number; stderr: string }> {
  const bounds = { ...OUTSIDE, ...options.bounds };
  const started = Date.now();
  const violations: string[] = [];
  const census = new Census();
  const child = spawn(process.execPath, [fileURLToPath(new URL(program, distDir)), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  census.watch(child.pid!);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-20_000);
  });
  let reportLine: string | undefined;
  let onReport: () => void = () => {};
  const reported = new Promise<void>((resolve) => (onReport = resolve));
  let buffered = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    buffered += d;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      const pid = /^CHAOS-PID (\d+) (.*)/.exec(line);
      if (pid) census.add(Number(pid[1]), pid[2]!);
      if (line.startsWith('CHAOS-REPORT ')) {
        reportLine = line.slice('CHAOS-REPORT '.length);
        onReport();
      }
      options.onLine?.(line);
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const timer = (ms: number) => new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), ms).unref());

  const first = await Promise.race([reported.then(() => 'report' as const), exited.then(() => 'exit' as const), timer(bounds.run)]);
  if (first === 'timeout') violations.push(`the run did not finish within ${bounds.run} ms (a hang)`);
  if (first !== 'timeout' && reportLine === undefined) {
    // It exited: give stdout a moment to deliver a report written just before.
    await new Promise((r) => setTimeout(r, 50));
  }
  if (reportLine === undefined && first !== 'timeout') violations.push('the program ended without a report');
  if (first !== 'timeout') {
    const end = await Promise.race([exited, timer(bounds.exit)]);
    if (end === 'timeout') violations.push(`the program did not exit by itself within ${bounds.exit} ms of finishing (something keeps it alive)`);
    else if (end.code !== 0) violations.push(`the program exited with ${end.signal ?? `code ${end.code}`}`);
  }
  census.stop();
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await exited;
  }
  const left = await waitGone(census.all, bounds.gone);
  for (const proc of left) violations.push(`process ${proc.pid} (${proc.what}) outlived the run by ${bounds.gone} ms`);
  killAll(left);
  return { violations, reportLine, pids: census.all.map((p) => p.pid), ms: Date.now() - started, stderr };
}

/** Runs one scenario with one seed. */
export async function runScenario(scenario: string, variant: Variant, seed: number): Promise<Outcome> {
  const r = await runProgram('child.js', [scenario, variant, String(seed)]);
  let report: Report | undefined;
  const violations = [...r.violations];
  if (r.reportLine !== undefined) {
    try {
      report = JSON.parse(r.reportLine) as Report;
      violations.unshift(...report.violations);
    } catch {
      violations.push(`an unreadable report: ${r.reportLine.slice(0, 200)}`);
    }
  }
  return { scenario, variant, seed, violations, report, ms: r.ms, pids: r.pids, stderr: r.stderr };
}
