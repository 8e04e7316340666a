/** Producers and consumers for the queue scenario. They log every put and get to a file of their own. */
import { QueueClosedError, QueueEmptyError, type Event, type Queue } from '@threadkit/node';
import { record } from '../log.js';

/** An item: who made it, its number in that producer's sequence, and a body that can be checked. */
export interface Item {
  readonly p: number;
  readonly seq: number;
  readonly body: string;
}

/** The body of an item: a function of (p, seq, length), so a torn or mixed-up item shows. */
export function bodyOf(p: number, seq: number, length: number): string {
  const unit = `${p}.${seq};`;
  return unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
}

export interface ProducerPlan {
  readonly count: number;
  /** Items put between two publication points. */
  readonly bursts: readonly number[];
  /** Body lengths, in turn. */
  readonly lengths: readonly number[];
  /** ms to pause after each burst, in turn (0: none). */
  readonly pauses: readonly number[];
}

/**
 * Puts `plan.count` items, logging `put <seq>` after each put resolves. After each burst it
 * signals `flush` and logs `pub <n>`: the README says everything that signals publishes what this
 * thread put first, so from that line on items 0..n-1 are out of this thread's hands.
 */
export async function produce(queue: Queue<Item>, flush: Event, log: string, p: number, plan: ProducerPlan): Promise<number> {
  let seq = 0;
  for (let b = 0; seq < plan.count; b++) {
    const burst = plan.bursts[b % plan.bursts.length]!;
    for (let i = 0; i < burst && seq < plan.count; i++, seq++) {
      await queue.put({ p, seq, body: bodyOf(p, seq, plan.lengths[seq % plan.lengths.length]!) });
      record(log, `put ${seq}`);
    }
    flush.set();
    record(log, `pub ${seq}`);
    const pause = plan.pauses[b % plan.pauses.length]!;
    if (pause > 0) await new Promise((r) => setTimeout(r, pause));
  }
  return seq;
}

export interface ConsumerPlan {
  /** ms to pause after each item, in turn (0: none). */
  readonly pauses: readonly number[];
  /** The timeout of each get, in turn (null: wait as long as it takes). */
  readonly timeouts: readonly (number | null)[];
}

/** Gets until the queue is closed and drained, logging `got <p> <seq>` (and `corrupt` when the body is wrong) for each item. */
export async function consume(queue: Queue<Item>, log: string, plan: ConsumerPlan): Promise<number> {
  let n = 0;
  for (let i = 0; ; i++) {
    const timeout = plan.timeouts[i % plan.timeouts.length];
    let item: Item;
    try {
      item = timeout === null || timeout === undefined ? await queue.get() : await queue.get({ timeout });
    } catch (error) {
      if (error instanceof QueueEmptyError) continue;
      if (error instanceof QueueClosedError) return n;
      throw error;
    }
    const intact = typeof item.body === 'string' && item.body === bodyOf(item.p, item.seq, item.body.length);
    record(log, `got ${item.p} ${item.seq}${intact ? '' : ' corrupt'}`);
    n++;
    const pause = plan.pauses[i % plan.pauses.length]!;
    if (pause > 0) await new Promise((r) => setTimeout(r, pause));
  }
}
