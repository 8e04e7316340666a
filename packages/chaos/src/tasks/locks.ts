/** Holders for the lock scenario: they take, hold and give back a Lock, RLock or (Bounded)Semaphore, logging each step. */
import type { Lock, Semaphore } from '@threadkit/node';
import { record } from '../log.js';

export type PrimKind = 'lock' | 'rlock' | 'semaphore';

export interface Step {
  /** How it holds: sleeping (its event loop free), busy (a loop that never yields), or at once. */
  readonly hold: 'sleep' | 'busy' | 'none';
  readonly ms: number;
  /** RLock: how deep it takes it; a semaphore: how many permits. */
  readonly depth: number;
  /** The acquire's timeout (null: none). */
  readonly timeout: number | null;
}

export interface HolderPlan {
  readonly steps: readonly Step[];
  /** After this many steps it takes the lock once more and never lets go (logging `hang`): the scenario kills it there. -1: never. */
  readonly hangAfter: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function busy(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // Holding without yielding.
  }
}

function died(prim: Lock | Semaphore): string {
  return String((prim as { ownerDied?: unknown }).ownerDied);
}

/**
 * Runs the plan. Log lines: `took <ownerDied> <previous owner>` once it holds (a lock: the
 * previous value of `owner[0]`, which each holder sets to its id while it holds and clears before
 * it lets go; 0 when `owner` is not shared), `timeout`, `hang`, `rel` just before letting go.
 */
export async function hold(prim: Lock | Semaphore, kind: PrimKind, owner: Int32Array | null, log: string, id: number, plan: HolderPlan): Promise<void> {
  const steps = plan.hangAfter >= 0 ? [...plan.steps.slice(0, plan.hangAfter), { hold: 'none', ms: 0, depth: 1, timeout: null } as Step] : plan.steps;
  for (const [i, step] of steps.entries()) {
    const hang = i === plan.hangAfter;
    const options = step.timeout === null ? undefined : { timeout: step.timeout };
    let taken = 0;
    const depth = kind === 'lock' ? 1 : step.depth;
    for (; taken < depth; taken++) {
      // An RLock is reentrant: its holder's second acquire takes it at once.
      if (!(await prim.acquire(taken === 0 ? options : { timeout: 0 }))) break;
      if (taken === 0 && kind !== 'semaphore') {
        const prev = owner ? Atomics.exchange(owner, 0, id) : 0;
        record(log, `took ${died(prim)} ${prev}`);
      } else if (kind === 'semaphore') {
        record(log, `took ${died(prim)} 0`);
      }
    }
    if (taken === 0) {
      record(log, 'timeout');
      continue;
    }
    if (hang) {
      record(log, 'hang');
      await new Promise<never>(() => {});
    }
    if (step.hold === 'sleep') await sleep(step.ms);
    else if (step.hold === 'busy') busy(step.ms);
    if (kind !== 'semaphore' && owner) Atomics.compareExchange(owner, 0, id, 0);
    record(log, `rel ${taken}`);
    for (let k = 0; k < taken; k++) prim.release();
  }
}

/** Takes one of each (a lock or a permit), logs `hang`, and never lets go: the scenario kills it there. */
export async function holdAll(prims: readonly (Lock | Semaphore)[], log: string): Promise<never> {
  for (const prim of prims) await prim.acquire();
  record(log, 'hang');
  return new Promise<never>(() => {});
}
