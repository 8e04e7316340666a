/**
 * The long form: every scenario on every variant, as many runs as asked, each run with its own
 * seed (the base seed plus the run's number), printing each failure with its seed and the command
 * that replays it.
 * usage: pnpm --filter @threadkit/chaos chaos -- [--runs N] [--seed S] [--only name[/variant],...] [--bail] [--verbose]
 * (--verbose prints what each passing run did: its notes and counts)
 */
import { describeOutcome, runScenario } from './harness.js';
import { runOrphans, ORPHAN_ENDINGS, describeOrphans } from './orphans.js';
import { SCENARIOS } from './scenarios/index.js';
import type { Variant } from './scenario.js';

function parse(argv: string[]): { runs: number; seed: number; only: string[]; bail: boolean; verbose: boolean } {
  const out = { runs: 1, seed: Math.floor(Math.random() * 2 ** 31), only: [] as string[], bail: false, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--') continue;
    else if (arg === '--runs') out.runs = Number(value());
    else if (arg === '--seed') out.seed = Number(value());
    else if (arg === '--only') out.only.push(...value().split(','));
    else if (arg === '--bail') out.bail = true;
    else if (arg === '--verbose') out.verbose = true;
    else throw new Error(`unknown argument ${arg}; usage: chaos [--runs N] [--seed S] [--only name[/variant],...] [--bail] [--verbose]`);
  }
  if (!Number.isInteger(out.runs) || out.runs < 1) throw new Error(`--runs must be an integer from 1 and up, got ${out.runs}`);
  if (!Number.isInteger(out.seed) || out.seed < 0) throw new Error(`--seed must be an integer from 0 and up, got ${out.seed}`);
  return out;
}

/** Every (scenario, variant) pair the selection names; the orphan endings count as variants of `orphans`. */
export function selected(only: readonly string[]): { scenario: string; variant: string }[] {
  const all = [
    ...Object.entries(SCENARIOS).flatMap(([scenario, s]) => s.variants.map((variant) => ({ scenario, variant: variant as string }))),
    ...ORPHAN_ENDINGS.map((variant) => ({ scenario: 'orphans', variant: variant as string })),
  ];
  if (only.length === 0) return all;
  return all.filter(({ scenario, variant }) => only.some((o) => o === scenario || o === `${scenario}/${variant}`));
}

const { runs, seed, only, bail, verbose } = parse(process.argv.slice(2));
const pairs = selected(only);
if (pairs.length === 0) {
  console.error(
    `--only matches nothing; scenarios: ${selected([])
      .map((p) => `${p.scenario}/${p.variant}`)
      .join(', ')}`,
  );
  process.exit(2);
}
console.log(`chaos: ${runs} run(s) of ${pairs.length} scenario(s), base seed ${seed}`);
const started = Date.now();
let failures = 0;
outer: for (let run = 0; run < runs; run++) {
  const runSeed = seed + run;
  for (const { scenario, variant } of pairs) {
    const t0 = Date.now();
    let text: string;
    let ok: boolean;
    let detail = '';
    if (scenario === 'orphans') {
      const o = await runOrphans(variant as (typeof ORPHAN_ENDINGS)[number]);
      ok = o.violations.length === 0;
      text = ok ? '' : describeOrphans(o);
    } else {
      const o = await runScenario(scenario, variant as Variant, runSeed);
      ok = o.violations.length === 0;
      text = ok ? '' : describeOutcome(o);
      if (verbose && o.report) detail = `\n     ${[...o.report.notes, JSON.stringify(o.report.counts)].join('\n     ')}`;
    }
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    if (ok) console.log(`ok   ${scenario}/${variant} seed ${runSeed} (${secs} s)${detail}`);
    else {
      failures++;
      console.log(`FAIL ${text.replace(/^/, '')} (${secs} s)`);
      if (bail) break outer;
    }
  }
}
console.log(`chaos: ${failures} failure(s) in ${((Date.now() - started) / 1000).toFixed(0)} s; base seed ${seed}`);
process.exitCode = failures > 0 ? 1 : 0;
