/**
 * Condition under faults: waiters killed while they wait, with kills and notifies racing.
 *
 * The contract: `notify(n)` wakes up to n of the waiters waiting at that moment; a notification
 * given to a waiter that dies before taking it passes on to the next waiter that was waiting at
 * that moment; a dead waiter leaves the list when its death is known.
 *
 * Each round the main thread takes the lock (every waiter whose last line is `reg` then surely
 * waits), picks victims, k and an order (kill and await the end, then notify; kill, notify, await;
 * notify, kill, await), and lets the lock go only after the victims are gone, so no victim can
 * have taken a notification: exactly min(k, survivors) survivors must wake, no victim may. In
 * some rounds a notifier worker takes the lock, notifies k, and is killed holding it: the lock
 * must come back and min(k, waiting) waiters wake. A last round lets go at once (the victims may
 * take one), and checks the bounds that leaves. At the end every waiter is told to stop and must
 * end.
 */
import { Condition, Event, Lock, type BaseThread } from '@threadkit/node';
import { join } from 'node:path';
import { readLines } from '../log.js';
import { BOUND, TIMED_OUT, type Ctx } from '../scenario.js';
import { taskModuleOf } from '../tasks.js';
import { killed } from './kill.js';

const tasks = taskModuleOf<typeof import('../tasks/condition.js')>('condition');

interface Waiter {
  readonly id: number;
  readonly w: BaseThread;
  readonly log: string;
}

type Order = 'kill, await, notify' | 'kill, notify, await' | 'notify, kill, await' | 'kill, notify, let go' | 'a notifier notifies and dies holding the lock';

const wokeCount = (w: Waiter): number => readLines(w.log).filter((l) => l.startsWith('woke ')).length;
const lastLine = (w: Waiter): string | undefined => readLines(w.log).at(-1);

export async function conditionScenario(ctx: Ctx): Promise<void> {
  const rng = ctx.rng;
  const cond = rng.chance(0.5) ? new Condition(new Lock()) : new Condition();
  const stop = new Event();
  const living: Waiter[] = [];
  const all: Waiter[] = [];
  let ids = 0;
  const order = join(ctx.dir, 'wait-order.log');
  const spawnWaiter = (): void => {
    const id = ++ids;
    const log = join(ctx.dir, `waiter-${id}.log`);
    const w = ctx.spawn(`waiter ${id}`, { target: tasks.waiter, args: [cond, stop, log, order, id] });
    const waiter = { id, w, log };
    living.push(waiter);
    all.push(waiter);
  };
  for (let i = rng.int(3, 5); i > 0; i--) spawnWaiter();

  const rounds = rng.int(3, 6);
  // Two rounds kill the longest-waiting waiter and notify one, racing the kill and the notify both
  // ways: the notify goes to the dying waiter and must pass on to the next.
  const [forcedA = 1, forcedB = 2] = rng.sample(
    [...Array(rounds - 1).keys()].map((i) => i + 1),
    2,
  );
  const forcedOrder = new Map<number, Order>([
    [forcedA, 'kill, notify, await'],
    [forcedB, 'notify, kill, await'],
  ]);
  for (let round = 1; round <= rounds; round++) {
    const last = round === rounds;
    // Every living waiter waits: its last line is `reg`, and the lock is free of it.
    if (!(await ctx.until(`round ${round}: every living waiter waits`, () => living.every((w) => lastLine(w) === 'reg')))) return;
    const strict = ['kill, await, notify', 'kill, notify, await', 'notify, kill, await'] as const;
    const forced = forcedOrder.has(round);
    const order: Order = last
      ? 'kill, notify, let go'
      : (forcedOrder.get(round) ?? rng.pick([...strict, 'a notifier notifies and dies holding the lock'] as const));
    const byNotifier = order === 'a notifier notifies and dies holding the lock';
    // Held by the main thread, the lock shows who waits; a notifier (which needs it) sees the same waiters.
    if (!byNotifier && (await ctx.within(cond.acquire(), `round ${round}: the main thread takes the condition's lock`)) === TIMED_OUT) return;
    const waiting = living.filter((w) => lastLine(w) === 'reg');
    const longest = (): Waiter => {
      const lines = readLines(order);
      return [...waiting].sort((a, b) => lines.lastIndexOf(String(a.id)) - lines.lastIndexOf(String(b.id)))[0]!;
    };
    const victims = byNotifier ? [] : forced ? [longest()] : rng.sample(waiting, rng.int(0, Math.min(2, waiting.length - 1)));
    const survivors = waiting.filter((w) => !victims.includes(w));
    const k = forced ? 1 : rng.int(0, waiting.length + 1);
    const before = new Map(waiting.map((w) => [w, wokeCount(w)]));
    const what = `round ${round} (${waiting.length} waiting, ${victims.length} killed${forced ? ': the longest waiting' : ''}, notify(${k}), ${order})`;
    ctx.note(what);
    const ends: Promise<unknown>[] = [];
    const killAll = (): void => {
      for (const v of victims) ends.push(ctx.stop(v.w, ctx.how(v.w)));
    };
    if (byNotifier) {
      // The notify outlives its notifier; the lock comes back once its death is known.
      const log = join(ctx.dir, `notifier-${round}.log`);
      const notifier = ctx.spawn(`notifier ${round}`, { target: tasks.notifyAndHang, args: [cond, k, log] });
      if (await ctx.until(`${what}: the notifier notifies`, () => readLines(log).includes('notified') || !notifier.isAlive())) {
        await ctx.within(ctx.stop(notifier, ctx.how(notifier)), `${what}: the notifier ends`);
      }
    } else if (order === 'kill, await, notify') {
      killAll();
      await ctx.within(Promise.all(ends), `${what}: the victims end`);
      cond.notify(k);
    } else if (order === 'notify, kill, await') {
      cond.notify(k);
      killAll();
      await ctx.within(Promise.all(ends), `${what}: the victims end`);
    } else {
      killAll();
      cond.notify(k);
      if (order === 'kill, notify, await') await ctx.within(Promise.all(ends), `${what}: the victims end`);
    }
    if (!byNotifier) cond.release();
    if (order === 'kill, notify, let go') await ctx.within(Promise.all(ends), `${what}: the victims end`);
    for (const v of victims) living.splice(living.indexOf(v), 1);

    const woken = (): number => survivors.reduce((n, w) => n + wokeCount(w) - before.get(w)!, 0);
    const victimsWoke = victims.reduce((n, w) => n + wokeCount(w) - before.get(w)!, 0);
    const expected = Math.min(k, survivors.length);
    ctx.count('notifications', k);
    ctx.count('victims', victims.length);
    if (order !== 'kill, notify, let go') {
      ctx.check(victimsWoke === 0, `${what}: a victim woke while the main thread held the lock`);
      if (await ctx.until(`${what}: ${expected} survivors wake (${woken()} did)`, () => woken() >= expected)) {
        // Every survivor that woke has logged it and waits again before the lock is free.
        await ctx.until(`${what}: the woken survivors wait again`, () => living.every((w) => lastLine(w) === 'reg'));
        await ctx.within(cond.acquire(), `${what}: the main thread takes the lock after the round`);
        ctx.check(woken() === expected, `${what}: ${woken()} survivors woke, ${expected} were notified`);
        cond.release();
      }
      ctx.count('wakes', woken());
    } else {
      // The victims may have taken a notification before they died (it is theirs then), and a
      // victim killed just after wait() returned took one without logging it.
      const atMost = Math.min(k - victimsWoke, survivors.length);
      const atLeast = Math.max(0, Math.min(k - victims.length, survivors.length));
      if (await ctx.until(`${what}: at least ${atLeast} survivors wake (${woken()} did)`, () => woken() >= atLeast)) {
        ctx.check(woken() <= atMost, `${what}: ${woken()} survivors woke, at most ${atMost} could (${victimsWoke} notifications went to victims)`);
      }
    }
    for (const v of victims) ctx.check(killed(v.w), `${what}: waiter ${v.id} was to be killed, yet ended with exit code ${v.w.exitCode}`);
    if (!last) for (let i = 0; i < victims.length; i++) spawnWaiter();
  }

  for (const w of all)
    for (const line of readLines(w.log))
      ctx.check(!line.startsWith('woke ') || line === 'woke true', `waiter ${w.id}: wait() returned without a notify (${line})`);

  // Everyone stops: wake them all until each has ended.
  stop.set();
  const ended = ctx.until('every living waiter ends once told to stop', async () => {
    if ((await cond.acquire({ timeout: BOUND.poll })) === true) {
      cond.notifyAll();
      cond.release();
    }
    return living.every((w) => !w.w.isAlive());
  });
  await ended;
  for (const w of living) ctx.check(w.w.exitCode === 0, `waiter ${w.id} ended with exit code ${w.w.exitCode}: ${w.w.error?.message}`);
}
