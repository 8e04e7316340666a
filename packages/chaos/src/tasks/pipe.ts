/** Senders and receivers for the pipe scenario. */
import type { Connection } from '@threadkit/node';
import { EOFError } from '@threadkit/node';
import { record } from '../log.js';

/** A message: its number in the sequence and a body that can be checked. */
export interface Message {
  readonly seq: number;
  readonly body: string;
}

export function bodyFor(seq: number, length: number): string {
  return `${seq};`.repeat(Math.ceil(length / (String(seq).length + 1))).slice(0, length);
}

/** Sends `count` messages, logging `sent <seq>` once each send has returned, pausing now and then. */
export async function send(conn: Connection, log: string, count: number, lengths: readonly number[], pauses: readonly number[]): Promise<number> {
  for (let seq = 0; seq < count; seq++) {
    conn.send({ seq, body: bodyFor(seq, lengths[seq % lengths.length]!) } satisfies Message);
    record(log, `sent ${seq}`);
    const pause = pauses[seq % pauses.length]!;
    if (pause > 0) await new Promise((r) => setTimeout(r, pause));
  }
  return count;
}

/** Receives until EOFError, logging `got <seq>` (and `torn` when the body is wrong). */
export async function receive(conn: Connection, log: string): Promise<number> {
  let n = 0;
  for (;;) {
    let m: Message;
    try {
      m = (await conn.recv()) as Message;
    } catch (error) {
      if (error instanceof EOFError) return n;
      throw error;
    }
    record(log, `got ${m.seq}${m.body === bodyFor(m.seq, m.body.length) ? '' : ' torn'}`);
    n++;
  }
}
