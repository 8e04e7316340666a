/** Killing workers at random moments: after a random delay, or once a worker has logged so many lines. */
import type { BaseThread } from '@threadkit/node';
import { readLines } from '../log.js';
import type { Ctx } from '../scenario.js';

export interface KillPlan {
  /**
   * When: `ms` after it was started (often before its task has begun: a start-up kill), `ms`
   * after its log's first line (mid-task), or once its log has `lines` lines; in any case as soon
   * as the worker has ended by itself.
   */
  readonly trigger: { readonly ms: number; readonly log?: string } | { readonly log: string; readonly lines: number };
  /** terminate() (SIGTERM for a process) or kill() (SIGKILL; a thread has only terminate()). */
  readonly how: 'terminate' | 'kill';
  /** Whether the killer awaits the end before going on (the scenario joins everyone later anyway). */
  readonly awaitEnd: boolean;
}

/** A random kill plan for `w`; `log` and `lines` give the progress it is expected to log. */
export function randomKill(ctx: Ctx, w: BaseThread, log: string, lines: number, maxMs = 400): KillPlan {
  const rng = ctx.rng;
  const r = rng.next();
  const trigger = r < 0.2 ? { ms: rng.int(0, maxMs) } : r < 0.6 ? { ms: rng.int(0, maxMs), log } : { log, lines: rng.int(1, Math.max(1, lines)) };
  return { trigger, how: ctx.how(w), awaitEnd: rng.chance(0.5) };
}

/** Carries out a kill plan on `w`; resolves when it has been carried out (and awaited, if the plan says so). */
export async function carryOut(ctx: Ctx, w: BaseThread, label: string, plan: KillPlan): Promise<void> {
  const t = plan.trigger;
  // A progress trigger is a handshake: the worker's own log says it got that far.
  const progress = async (lines: number): Promise<void> => {
    while (w.isAlive() && readLines(t.log!).length < lines) await ctx.sleep(5);
  };
  if ('lines' in t) await progress(t.lines);
  else {
    if (t.log) await progress(1);
    await ctx.sleep(t.ms);
  }
  const ended = ctx.stop(w, plan.how);
  ctx.count(`kills.${plan.how}`);
  if (plan.awaitEnd) await ctx.within(ended, `${plan.how} ${label}`);
}

/** Whether a worker ended by a kill (rather than by finishing its task). */
export function killed(w: BaseThread): boolean {
  return w.exitCode !== null && w.exitCode < 0;
}
