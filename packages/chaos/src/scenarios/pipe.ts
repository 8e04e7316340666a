/**
 * Pipe under faults: the end in a worker is killed at a random moment, sending or receiving.
 *
 * From the README: `recv()` throws EOFError once the other end is closed (or its thread or
 * process ended) and drained; a pipe's send goes straight into the ring (no outbox), so on shared
 * memory every send that returned is there for the other end. So:
 * - a sender killed: the main thread receives messages 0..n-1 in order, none twice, none torn,
 *   then EOFError (never a hang); on shared memory n is at least the sends it logged;
 * - a sender that finished: everything arrives, then EOFError;
 * - a receiver killed: the main thread's sends end in EOFError once its death is known.
 */
import { EOFError, Pipe, type BaseThread } from '@threadkit/node';
import { join } from 'node:path';
import { readLines } from '../log.js';
import { TIMED_OUT, type Ctx } from '../scenario.js';
import { taskModuleOf } from '../tasks.js';
import { bodyFor, type Message } from '../tasks/pipe.js';
import { carryOut, killed, randomKill } from './kill.js';

const tasks = taskModuleOf<typeof import('../tasks/pipe.js')>('pipe');

async function senderDies(ctx: Ctx, i: number): Promise<void> {
  const rng = ctx.rng;
  const [mine, theirs] = Pipe();
  const log = join(ctx.dir, `sender-${i}.log`);
  const count = rng.int(5, 80);
  const lengths = Array.from({ length: 5 }, () => (rng.chance(0.8) ? rng.int(0, 60) : rng.int(200, 3000)));
  const pauses = Array.from({ length: 4 }, () => (rng.chance(0.6) ? 0 : rng.int(1, 8)));
  const w = ctx.spawn(`sender ${i}`, { target: tasks.send, args: [theirs, log, count, lengths, pauses] });
  const victim = rng.chance(0.7);
  const kill = victim ? carryOut(ctx, w, `sender ${i}`, randomKill(ctx, w, log, count)) : Promise.resolve();
  const got: Message[] = [];
  const receiving = (async (): Promise<unknown> => {
    for (;;) {
      try {
        got.push((await mine.recv()) as Message);
      } catch (error) {
        return error;
      }
    }
  })();
  const ending = await ctx.within(receiving, `pipe ${i}: recv() ends after its sender ${victim ? 'was killed' : 'finished'}`);
  await ctx.within(kill, `pipe ${i}: the kill`);
  await ctx.within(w.join(), `pipe ${i}: join the sender`);
  if (ending === TIMED_OUT) return;
  ctx.check(ending instanceof EOFError, `pipe ${i}: recv() ended with ${String(ending)}, not EOFError`);
  got.forEach((m, k) => {
    ctx.check(m.seq === k, `pipe ${i}: message ${k} received was number ${m.seq} (out of order, repeated or a gap)`);
    ctx.check(m.body === bodyFor(m.seq, m.body.length), `pipe ${i}: message ${m.seq} arrived torn`);
  });
  const sent = readLines(log).length;
  ctx.count('messages.received', got.length);
  if (!killed(w)) ctx.check(got.length === count, `pipe ${i}: the sender finished ${count} sends, ${got.length} arrived`);
  else if (!ctx.messagesFor(w)) ctx.check(got.length >= sent, `pipe ${i}: the killed sender logged ${sent} sends that returned, ${got.length} arrived`);
  else ctx.count('messages.sentByKilledButLost', Math.max(0, sent - got.length));
  ctx.check(got.length <= sent + 1, `pipe ${i}: ${got.length} messages arrived, the sender logged ${sent} sends`);
  mine.close();
}

async function receiverDies(ctx: Ctx, i: number): Promise<void> {
  const rng = ctx.rng;
  const [mine, theirs] = Pipe();
  const log = join(ctx.dir, `receiver-${i}.log`);
  const w: BaseThread = ctx.spawn(`receiver ${i}`, { target: tasks.receive, args: [theirs, log] });
  const total = rng.int(1, 40);
  for (let seq = 0; seq < total; seq++) mine.send({ seq, body: bodyFor(seq, rng.int(0, 50)) } satisfies Message);
  await carryOut(ctx, w, `receiver ${i}`, randomKill(ctx, w, log, total));
  await ctx.within(w.join(), `pipe ${i}: join the receiver`);
  if (!killed(w)) {
    // It is still waiting for more: then it is killed now, waiting.
    await ctx.within(ctx.stop(w, ctx.how(w)), `pipe ${i}: stop the receiver`);
  }
  // Its death is known: a send must now be refused with EOFError (maybe after what is in flight).
  let refused: unknown;
  await ctx.until(`pipe ${i}: send() refuses with EOFError once the receiver is dead`, () => {
    try {
      mine.send({ seq: -1, body: '' });
      return false;
    } catch (error) {
      refused = error;
      return true;
    }
  });
  if (refused !== undefined) ctx.check(refused instanceof EOFError, `pipe ${i}: send() to a dead receiver threw ${String(refused)}, not EOFError`);
  const lines = readLines(log);
  for (const [k, line] of lines.entries()) ctx.check(line === `got ${k}`, `pipe ${i}: the receiver's message ${k} was ${line}`);
  mine.close();
}

export async function pipeScenario(ctx: Ctx): Promise<void> {
  const n = ctx.rng.int(2, 4);
  const runs: Promise<void>[] = [];
  for (let i = 0; i < n; i++) runs.push(ctx.rng.chance(0.7) ? senderDies(ctx, i) : receiverDies(ctx, i));
  await Promise.all(runs);
}
