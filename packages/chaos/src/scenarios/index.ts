/** Every scenario the harness can run, by name. */
import type { Ctx, Variant } from '../scenario.js';
import { conditionScenario } from './condition.js';
import { locksScenario } from './locks.js';
import { pipeScenario } from './pipe.js';
import { poolScenario } from './pool.js';
import { queueScenario } from './queue.js';

export interface Scenario {
  readonly run: (ctx: Ctx) => Promise<void>;
  /** The variants it runs on. */
  readonly variants: readonly Variant[];
}

export const SCENARIOS: Record<string, Scenario> = {
  queue: { run: queueScenario, variants: ['thread', 'thread-message', 'process', 'mixed'] },
  locks: { run: locksScenario, variants: ['thread', 'thread-message', 'process', 'mixed'] },
  condition: { run: conditionScenario, variants: ['thread', 'thread-message', 'process', 'mixed'] },
  pool: { run: poolScenario, variants: ['thread', 'process'] },
  pipe: { run: pipeScenario, variants: ['thread', 'thread-message', 'process'] },
};
