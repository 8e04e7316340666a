/**
 * The short form of the chaos suite: each scenario once on each variant, with one seed for the
 * whole run (CHAOS_SEED, or a random one, printed), and the orphan scenario for two endings. The
 * long form is `pnpm --filter @threadkit/chaos chaos -- --runs 200 --seed 42`.
 */
import { describe, expect, it } from 'vitest';
import { describeOutcome, runScenario } from '../src/harness.ts';
import { describeOrphans, runOrphans, type OrphanEnding } from '../src/orphans.ts';
import { SCENARIOS } from '../src/scenarios/index.ts';

const seed = process.env.CHAOS_SEED ? Number(process.env.CHAOS_SEED) : Math.floor(Math.random() * 2 ** 31);
// Printed whether or not anything fails, so any run can be replayed.
console.log(`chaos: seed ${seed} (CHAOS_SEED=${seed} to run the same plans again)`);

describe(`chaos, seed ${seed}`, () => {
  for (const [name, scenario] of Object.entries(SCENARIOS)) {
    for (const variant of scenario.variants) {
      it(`${name} on ${variant}`, async () => {
        const outcome = await runScenario(name, variant, seed);
        expect(outcome.violations, describeOutcome(outcome)).toEqual([]);
      });
    }
  }
});

describe('orphans: every process ends with its parent', () => {
  const endings: OrphanEnding[] = ['sigkill', 'uncaught'];
  for (const ending of endings) {
    it(`when the parent ends by ${ending}`, async () => {
      const outcome = await runOrphans(ending);
      expect(outcome.violations, describeOrphans(outcome)).toEqual([]);
    });
  }
});
