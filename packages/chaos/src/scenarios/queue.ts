/**
 * Queue under faults: producers and consumers, some terminated or killed at random moments.
 *
 * What the README allows to be lost, and so what this checks:
 * - A thread on shared memory publishes its puts a few microtasks later, in order, and "a thread
 *   terminated before that loses what it had not published"; everything that signals publishes
 *   first. A producer signals an Event after each burst and logs `pub n`: items below n, and
 *   every item of a producer that ended by itself ("a task's end publishes first"), must arrive.
 * - Through messages (a process, or the message transport), the owner answers a put once it has
 *   the item, so every put that resolved (logged `put seq`) must arrive; the one in flight when
 *   its producer died may or may not.
 * - Items are published in order, so a producer's item that arrived proves every earlier one
 *   was published too.
 * - A consumer killed may lose the one item it held in hand (taken from the queue, not yet
 *   logged); through messages, an item whose get reply was in flight goes back on the queue.
 *   So the items that had to arrive and did not are at most one per consumer killed.
 * - No item arrives twice, none arrives torn, none arrives that was never put.
 * The ring's bytes are far more than all items take, so no publication waits for room.
 */
import { Event, Queue, type BaseThread } from '@threadkit/node';
import { join } from 'node:path';
import { readLines } from '../log.js';

/** A Queue's default bytes (the README's: 16 items of 64 KiB). */
const DEFAULT_QUEUE_BYTES = 1_048_960;
import { TIMED_OUT, type Ctx } from '../scenario.js';
import { taskModuleOf } from '../tasks.js';
import { bodyOf, type ConsumerPlan, type Item, type ProducerPlan } from '../tasks/queue.js';
import { carryOut, killed, randomKill } from './kill.js';

const tasks = taskModuleOf<typeof import('../tasks/queue.js')>('queue');

export async function queueScenario(ctx: Ctx): Promise<void> {
  const rng = ctx.rng;
  const nProducers = rng.int(2, 4);
  const nConsumers = rng.int(2, 4);
  const maxsize = rng.pick([0, 0, 1, 3, 8, 32]);
  const queue = new Queue<Item>({ maxsize });
  ctx.note(`${nProducers} producers, ${nConsumers} consumers, maxsize ${maxsize}`);

  const producers: { w: BaseThread; log: string; plan: ProducerPlan; victim: boolean }[] = [];
  const consumers: { w: BaseThread; log: string; victim: boolean }[] = [];
  const kills: Promise<void>[] = [];

  const producerVictims = new Set(rng.sample([...Array(nProducers).keys()], rng.int(0, nProducers)));
  // One consumer always survives: with a bounded queue and every consumer gone, the producers still
  // running would wait for room until the end (the main thread drains only after they are done).
  const consumerVictims = new Set(rng.sample([...Array(nConsumers).keys()], rng.int(0, nConsumers - 1)));

  for (let c = 0; c < nConsumers; c++) {
    const log = join(ctx.dir, `consumer-${c}.log`);
    const plan: ConsumerPlan = {
      pauses: Array.from({ length: 7 }, () => (rng.chance(0.7) ? 0 : rng.int(1, 8))),
      timeouts: Array.from({ length: 5 }, () => (rng.chance(0.6) ? null : rng.int(0, 30))),
    };
    const w = ctx.spawn(`consumer ${c}`, { target: tasks.consume, args: [queue, log, plan] });
    consumers.push({ w, log, victim: consumerVictims.has(c) });
  }
  for (let p = 0; p < nProducers; p++) {
    const log = join(ctx.dir, `producer-${p}.log`);
    const count = rng.int(10, 60);
    const plan: ProducerPlan = {
      count,
      bursts: Array.from({ length: 5 }, () => rng.int(1, 12)),
      lengths: Array.from({ length: 9 }, () => (rng.chance(0.8) ? rng.int(0, 40) : rng.int(100, 1500))),
      pauses: Array.from({ length: 4 }, () => (rng.chance(0.5) ? 0 : rng.int(1, 10))),
    };
    const flush = new Event();
    const w = ctx.spawn(`producer ${p}`, { target: tasks.produce, args: [queue, flush, log, p, plan] });
    producers.push({ w, log, plan, victim: producerVictims.has(p) });
  }
  // The allowances below assume no publication ever waits for room in the ring's bytes.
  const planned = producers.reduce((sum, { plan }) => sum + plan.count * (16 + 8 + Math.max(...plan.lengths)), 0);
  if (!ctx.check(planned < DEFAULT_QUEUE_BYTES / 2, `the plan's items (${planned} bytes) could fill the ring: the scenario is wrong`)) return;
  for (const [i, { w, log, plan, victim }] of producers.entries()) {
    if (victim) kills.push(carryOut(ctx, w, `producer ${i}`, randomKill(ctx, w, log, plan.count * 2)));
  }
  for (const [i, { w, log, victim }] of consumers.entries()) {
    if (victim) kills.push(carryOut(ctx, w, `consumer ${i}`, randomKill(ctx, w, log, 15)));
  }

  for (const [i, { w }] of producers.entries()) await ctx.within(w.join(), `join producer ${i}`);
  queue.close();
  // The main thread drains too, so what is left does not depend on which consumers survived.
  const drained: Item[] = [];
  const drain = (async () => {
    for await (const item of queue) drained.push(item);
  })();
  if ((await ctx.within(drain, 'draining the closed queue in the main thread')) === TIMED_OUT) return;
  for (const [i, { w }] of consumers.entries()) await ctx.within(w.join(), `join consumer ${i}`);
  await ctx.within(Promise.all(kills), 'kills');

  // Everything that arrived: in a consumer's log or in the main thread's hands.
  const received = new Map<string, number>();
  const arrived = (p: number, seq: number, where: string, intact: boolean): void => {
    const key = `${p}:${seq}`;
    received.set(key, (received.get(key) ?? 0) + 1);
    ctx.check(intact, `item ${key} arrived torn (in ${where})`);
  };
  for (const [c, { log }] of consumers.entries()) {
    for (const line of readLines(log)) {
      const [, p, seq, corrupt] = line.split(' ');
      arrived(Number(p), Number(seq), `consumer ${c}`, corrupt === undefined);
    }
  }
  for (const item of drained) arrived(item.p, item.seq, 'main', item.body === bodyOf(item.p, item.seq, item.body.length));
  ctx.count(
    'items.received',
    [...received.values()].reduce((a, b) => a + b, 0),
  );

  for (const [key, n] of received) ctx.check(n === 1, `item ${key} arrived ${n} times`);

  let consumersKilled = 0;
  for (const [c, { w, victim }] of consumers.entries()) {
    if (killed(w)) consumersKilled++;
    else {
      ctx.check(w.exitCode === 0, `consumer ${c} (${victim ? 'spared by its kill' : 'never killed'}) ended with exit code ${w.exitCode}: ${w.error?.message}`);
    }
  }

  const mustHaveArrived: string[] = [];
  for (const [p, { w, log, plan }] of producers.entries()) {
    const lines = readLines(log);
    const puts = lines.filter((l) => l.startsWith('put ')).length;
    const published = Math.max(0, ...lines.filter((l) => l.startsWith('pub ')).map((l) => Number(l.slice(4))));
    let highest = -1;
    for (const key of received.keys()) {
      const [rp, rs] = key.split(':').map(Number) as [number, number];
      if (rp !== p) continue;
      highest = Math.max(highest, rs);
      // A put resolves before its line is written, so one item past the logged puts may be real.
      ctx.check(rs <= puts && rs < plan.count, `item ${key} arrived but producer ${p} logged only ${puts} puts`);
    }
    let must: number;
    if (!killed(w)) {
      ctx.check(w.exitCode === 0, `producer ${p} ended with exit code ${w.exitCode}: ${w.error?.message}`);
      must = plan.count;
    } else {
      ctx.count('producers.killed');
      must = Math.max(ctx.messagesFor(w) ? puts : published, highest + 1);
      ctx.count('items.allowedUnpublished', Math.max(0, puts - must));
    }
    for (let seq = 0; seq < must; seq++) if (!received.has(`${p}:${seq}`)) mustHaveArrived.push(`${p}:${seq}`);
  }
  ctx.count('consumers.killed', consumersKilled);
  ctx.count('items.lostInHand', mustHaveArrived.length);
  ctx.check(
    mustHaveArrived.length <= consumersKilled,
    `${mustHaveArrived.length} items that had to arrive never did (${mustHaveArrived.slice(0, 12).join(', ')}${mustHaveArrived.length > 12 ? ', …' : ''}); ${consumersKilled} consumers were killed, each may lose the one item in its hands`,
  );
  ctx.check(queue.qsize() === 0, `the queue is closed and drained, yet qsize() is ${queue.qsize()}`);
}
