/**
 * Lock, RLock, Semaphore and BoundedSemaphore under faults: holders killed at random moments,
 * and holders killed while they surely hold (they log `hang` and wait to be killed).
 *
 * What it checks, from the README ("a lock held by a thread or process that dies is released, and
 * the next taker's lock.ownerDied is true") and the permit contract (permits are counted per
 * holder; when a holder ends holding permits they come back and the next taker's `ownerDied` is
 * true; `{ robust: false }` opts out):
 * - once everyone is gone, each lock can be taken, and each semaphore's value is back to its
 *   initial value (never above it);
 * - on threads (which share the holder mark, a word each holder sets while it holds and clears
 *   before it lets go), a holder that finds the previous holder's mark still set took the lock
 *   from a killed holder, and was told `ownerDied`;
 * - on every variant, the number of takers told `ownerDied` is within what the deaths allow;
 * - a holder killed while it surely holds: the next taker (the main thread) is told `ownerDied`,
 *   once; a non-robust semaphore's permit does not come back.
 */
import { BoundedSemaphore, Lock, RLock, Semaphore, type BaseThread } from '@threadkit/node';
import { join } from 'node:path';
import { readLines } from '../log.js';
import { BOUND, TIMED_OUT, type Ctx } from '../scenario.js';
import { taskModuleOf } from '../tasks.js';
import type { HolderPlan, PrimKind, Step } from '../tasks/locks.js';
import { carryOut, killed, randomKill } from './kill.js';

const tasks = taskModuleOf<typeof import('../tasks/locks.js')>('locks');

interface Prim {
  readonly name: string;
  readonly kind: PrimKind;
  readonly obj: Lock | Semaphore;
  /** Permits (1 for a lock). */
  readonly initial: number;
  /** Shared memory for the holder mark (threads only). */
  readonly owner: Int32Array | null;
}

interface Holder {
  readonly id: number;
  readonly prim: Prim;
  readonly w: BaseThread;
  readonly log: string;
  readonly hangs: boolean;
}

/** Kills `w` once its log's last line is `hang` (a handshake: it surely holds), as `how` says. */
async function killWhenHanging(ctx: Ctx, w: BaseThread, log: string, label: string, how: 'terminate' | 'kill'): Promise<void> {
  const hanging = await ctx.until(`${label} logs hang`, () => !w.isAlive() || readLines(log).at(-1) === 'hang');
  if (!hanging || !w.isAlive()) return;
  await ctx.within(ctx.stop(w, how), `${how} ${label}`);
}

function plan(ctx: Ctx, kind: PrimKind, initial: number, hangs: boolean): HolderPlan {
  const rng = ctx.rng;
  const steps: Step[] = Array.from({ length: rng.int(2, 8) }, () => ({
    hold: rng.pick(['sleep', 'sleep', 'busy', 'none'] as const),
    ms: rng.int(0, 15),
    depth: kind === 'lock' ? 1 : rng.int(1, kind === 'rlock' ? 3 : initial),
    timeout: rng.chance(0.7) ? null : rng.int(0, 40),
  }));
  return { steps, hangAfter: hangs ? rng.int(0, steps.length) : -1 };
}

export async function locksScenario(ctx: Ctx): Promise<void> {
  const rng = ctx.rng;
  // Threads share the holder mark; a process cannot (so a mixed run has none).
  const marks = ctx.variant === 'thread' || ctx.variant === 'thread-message';
  const mark = (): Int32Array | null => (marks ? new Int32Array(new SharedArrayBuffer(4)) : null);
  const permits = rng.int(1, 3);
  const bounded = rng.int(1, 3);
  const prims: Prim[] = [
    { name: 'Lock', kind: 'lock', obj: new Lock(), initial: 1, owner: mark() },
    { name: 'RLock', kind: 'rlock', obj: new RLock(), initial: 1, owner: mark() },
    { name: 'Semaphore', kind: 'semaphore', obj: new Semaphore(permits), initial: permits, owner: null },
    { name: 'BoundedSemaphore', kind: 'semaphore', obj: new BoundedSemaphore(bounded), initial: bounded, owner: null },
  ];

  const holders: Holder[] = [];
  const kills: Promise<void>[] = [];
  let id = 0;
  for (const prim of prims) {
    const n = rng.int(2, 3);
    const hanger = rng.chance(0.7) ? rng.int(0, n - 1) : -1;
    for (let i = 0; i < n; i++) {
      id++;
      const log = join(ctx.dir, `holder-${id}.log`);
      const hangs = i === hanger;
      const w = ctx.spawn(`${prim.name} holder ${id}`, {
        target: tasks.hold,
        args: [prim.obj, prim.kind, prim.owner, log, id, plan(ctx, prim.kind, prim.initial, hangs)],
      });
      holders.push({ id, prim, w, log, hangs });
      if (hangs) kills.push(killWhenHanging(ctx, w, log, `${prim.name} holder ${id}`, ctx.how(w)));
      else if (rng.chance(0.4)) kills.push(carryOut(ctx, w, `${prim.name} holder ${id}`, randomKill(ctx, w, log, 8, 150)));
    }
  }
  await ctx.within(Promise.all(kills), 'kills');
  for (const h of holders) await ctx.within(h.w.join(), `join ${h.prim.name} holder ${h.id}`);
  const dead = new Set(holders.filter((h) => killed(h.w)).map((h) => h.id));
  for (const h of holders) {
    if (!dead.has(h.id)) ctx.check(h.w.exitCode === 0, `${h.prim.name} holder ${h.id} ended with exit code ${h.w.exitCode}: ${h.w.error?.message}`);
  }
  ctx.count('holders.killed', dead.size);

  for (const prim of prims) {
    const mine = holders.filter((h) => h.prim === prim);
    let told = 0;
    let surelyHeld = 0;
    let unsure = 0;
    for (const h of mine) {
      const lines = readLines(h.log);
      for (const line of lines) {
        if (!line.startsWith('took ')) continue;
        const [, ownerDied, prevText] = line.split(' ');
        const prev = Number(prevText);
        if (ownerDied === 'true') told++;
        if (prev !== 0) {
          ctx.check(dead.has(prev), `${prim.name}: holder ${h.id} took it while holder ${prev}, which was never killed, still held it`);
          ctx.check(ownerDied === 'true', `${prim.name}: holder ${h.id} took it from holder ${prev}, which died holding it, and ownerDied was ${ownerDied}`);
        }
      }
      if (dead.has(h.id)) {
        // It surely held at its death when it last logged taking it (a line written after the
        // acquire resolved) and had not yet logged letting go (a line written before release()).
        const last = lines.at(-1) ?? '';
        if (last.startsWith('took ') || last === 'hang') surelyHeld++;
        else unsure++;
      }
    }

    if (prim.kind !== 'semaphore') {
      const lock = prim.obj as Lock;
      const got = await ctx.within(lock.acquire({ timeout: BOUND.poll }), `${prim.name}: the main thread takes it after the run`);
      if (got === TIMED_OUT) continue;
      if (!ctx.check(got, `${prim.name}: could not be taken within ${BOUND.poll} ms once every holder was gone (a dead holder's hold never came back)`))
        continue;
      if (lock.ownerDied) told++;
      lock.release();
      // Each death while holding is told to exactly one taker; a holder killed while taking it
      // (or letting it go) may or may not have held it, and one killed right after taking it
      // takes the telling with it.
      ctx.check(
        told >= surelyHeld - unsure && told <= surelyHeld + unsure,
        `${prim.name}: ${told} takers were told ownerDied; ${surelyHeld} holders died surely holding it and ${unsure} died maybe holding it (the count must be within ${surelyHeld} ± ${unsure})`,
      );
    } else {
      const sem = prim.obj as Semaphore;
      await ctx.until(`${prim.name}: value back to its initial ${prim.initial} once every holder is gone (it is ${sem.value})`, () => {
        ctx.check(sem.value <= prim.initial, `${prim.name}: value ${sem.value} above its initial ${prim.initial}: a permit came back twice`);
        return sem.value >= prim.initial;
      });
    }
  }

  await lastHolderDies(ctx, prims);
}

/** A holder of everything at once, killed once it surely holds: the next taker is told, once, and a non-robust semaphore keeps its permit out. */
async function lastHolderDies(ctx: Ctx, prims: readonly Prim[]): Promise<void> {
  let nonRobust: Semaphore;
  try {
    nonRobust = new (Semaphore as unknown as new (n: number, o: { robust: boolean }) => Semaphore)(2, { robust: false });
  } catch (error) {
    ctx.fail(`new Semaphore(2, { robust: false }) threw: ${(error as Error).message}`);
    nonRobust = new Semaphore(2);
  }
  const log = join(ctx.dir, 'last-holder.log');
  const w = ctx.spawn('last holder', { target: tasks.holdAll, args: [[...prims.map((p) => p.obj), nonRobust], log] });
  await killWhenHanging(ctx, w, log, 'the last holder', ctx.how(w));
  if ((await ctx.within(w.join(), 'join the last holder')) === TIMED_OUT) return;
  for (const prim of prims) {
    if (prim.kind !== 'semaphore') {
      const lock = prim.obj as Lock;
      const got = await ctx.within(lock.acquire({ timeout: BOUND.poll }), `${prim.name}: taken after the last holder died`);
      if (got !== true) {
        ctx.fail(`${prim.name}: not free within ${BOUND.poll} ms after its holder died holding it`);
        continue;
      }
      ctx.check(lock.ownerDied === true, `${prim.name}: the next taker after a holder died holding it was not told (ownerDied ${lock.ownerDied})`);
      lock.release();
      await lock.acquire();
      ctx.check(lock.ownerDied === false, `${prim.name}: ownerDied still ${lock.ownerDied} for the taker after that`);
      lock.release();
    } else {
      const sem = prim.obj as Semaphore;
      const back = await ctx.until(
        `${prim.name}: the dead last holder's permit comes back (value ${sem.value} of ${prim.initial})`,
        () => sem.value >= prim.initial,
      );
      if (!back) continue;
      ctx.check(sem.value === prim.initial, `${prim.name}: value ${sem.value} above its initial ${prim.initial}`);
      await sem.acquire();
      const ownerDied = (sem as { ownerDied?: unknown }).ownerDied;
      ctx.check(ownerDied === true, `${prim.name}: the next taker after a holder died holding a permit was not told (ownerDied ${String(ownerDied)})`);
      sem.release();
    }
  }
  // Checked after the robust ones came back: whatever let theirs go has run.
  ctx.check(
    nonRobust.value === 1,
    `Semaphore(2, { robust: false }): value ${nonRobust.value} after its holder died; an opted-out semaphore must not take back a dead holder's permit`,
  );
}
