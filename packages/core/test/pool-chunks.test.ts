import { describe, expect, it } from 'vitest';
import { mapAll, stream, type ChunkSubmitter, type StopReason } from '../src/pool/chunks.js';
import { AbortError, TimeoutError } from '../src/errors.js';

/** A pool in memory: chunks wait until the test ends them, in any order. */
class FakePool implements ChunkSubmitter<number> {
  readonly size = 2;
  readonly chunks: { items: unknown[]; done: (ok: boolean, value: unknown) => void; ended: boolean }[] = [];
  readonly stops: { chunk: number; reason: StopReason; quiet: boolean }[] = [];
  room = true;
  #roomWaiters: (() => void)[] = [];
  checkOpen(): void {}
  hasRoom(): boolean {
    return this.room;
  }
  whenRoom(): Promise<void> {
    return new Promise((resolve) => this.#roomWaiters.push(resolve));
  }
  makeRoom(): void {
    this.room = true;
    for (const wake of this.#roomWaiters.splice(0)) wake();
  }
  submit(items: unknown[], _starmap: boolean, done: (ok: boolean, value: unknown) => void): number {
    this.chunks.push({ items, done, ended: false });
    return this.chunks.length - 1;
  }
  stop(chunk: number, error: Error, reason: StopReason, quiet = false): void {
    const c = this.chunks[chunk]!;
    if (c.ended) return;
    this.stops.push({ chunk, reason, quiet });
    this.end(chunk, false, error);
  }
  /** Ends a chunk as a worker would: each item doubled, or with an error. */
  end(chunk: number, ok = true, error?: unknown): void {
    const c = this.chunks[chunk]!;
    c.ended = true;
    c.done(ok, ok ? c.items.map((x) => (x as number) * 2) : error);
  }
}

const turn = () => new Promise((resolve) => setTimeout(resolve, 0));
const job = (list: number[], extra: Partial<Parameters<typeof mapAll>[1]> = {}) => ({
  what: 'Cannot map double',
  list,
  starmap: false,
  chunksize: 2,
  signal: undefined,
  timeout: undefined,
  onProgress: undefined,
  ...extra,
});

describe('mapAll over a ChunkSubmitter', () => {
  it('cuts the items into chunks and puts results back in order, however the chunks end', async () => {
    const pool = new FakePool();
    const progress: number[] = [];
    const result = mapAll(pool, job([1, 2, 3, 4, 5], { onProgress: ({ done }) => progress.push(done) }));
    await turn();
    expect(pool.chunks.map((c) => c.items)).toEqual([[1, 2], [3, 4], [5]]);
    pool.end(2);
    pool.end(0);
    pool.end(1);
    expect(await result).toEqual([2, 4, 6, 8, 10]);
    expect(progress).toEqual([1, 3, 5]);
  });

  it("uses Python's default chunk size: four chunks per worker", async () => {
    const pool = new FakePool();
    const result = mapAll(
      pool,
      job(
        Array.from({ length: 80 }, (_, i) => i),
        { chunksize: undefined },
      ),
    );
    await turn();
    expect(pool.chunks.length).toBe(8);
    for (let i = 0; i < pool.chunks.length; i++) pool.end(i);
    expect((await result).length).toBe(80);
  });

  it('rejects with the first failure; the other chunks may finish, unwatched (a quiet stop)', async () => {
    const pool = new FakePool();
    const result = mapAll(pool, job([1, 2, 3, 4]));
    await turn();
    const failure = new Error('item 3 failed');
    pool.end(1, false, failure);
    await expect(result).rejects.toBe(failure);
    expect(pool.stops).toEqual([{ chunk: 0, reason: 'abort', quiet: true }]);
  });

  it('an abort stops every running chunk as an abort; a timeout as a timeout', async () => {
    const pool = new FakePool();
    const controller = new AbortController();
    const aborted = mapAll(pool, job([1, 2, 3], { signal: controller.signal }));
    await turn();
    controller.abort();
    await expect(aborted).rejects.toBeInstanceOf(AbortError);
    expect(pool.stops.map((s) => [s.reason, s.quiet])).toEqual([
      ['abort', false],
      ['abort', false],
    ]);

    const slow = new FakePool();
    const timedOut = mapAll(slow, job([1, 2], { timeout: 10 }));
    await expect(timedOut).rejects.toBeInstanceOf(TimeoutError);
    expect(slow.stops.map((s) => s.reason)).toEqual(['timeout']);
  });

  it('waits for room in a bounded queue before submitting more', async () => {
    const pool = new FakePool();
    pool.room = false;
    const result = mapAll(pool, job([1, 2, 3, 4]));
    await turn();
    expect(pool.chunks.length).toBe(0);
    pool.makeRoom();
    await turn();
    expect(pool.chunks.length).toBe(2);
    pool.end(0);
    pool.end(1);
    expect(await result).toEqual([2, 4, 6, 8]);
  });
});

describe('stream over a ChunkSubmitter', () => {
  const streamJob = (items: Iterable<number>, ordered: boolean, signal?: AbortSignal) => ({
    what: 'Cannot imap double',
    source: items[Symbol.iterator](),
    isAsync: false,
    chunksize: 1,
    signal,
    ordered,
  });

  it('yields in order when ordered, as chunks end when not', async () => {
    for (const ordered of [true, false]) {
      const pool = new FakePool();
      const got: unknown[] = [];
      const loop = (async () => {
        for await (const value of stream(pool, streamJob([1, 2, 3], ordered))) got.push(value);
      })();
      await turn();
      pool.end(2);
      pool.end(1);
      pool.end(0);
      await loop;
      expect(got).toEqual(ordered ? [2, 4, 6] : [6, 4, 2]);
    }
  });

  it('reads an endless input only as far ahead as it may (64 chunks here), and a break stops what was read ahead, quietly', async () => {
    const pool = new FakePool();
    function* endless() {
      for (let i = 0; ; i++) yield i;
    }
    const it = stream(pool, streamJob(endless(), true));
    const first = it.next();
    await turn();
    expect(pool.chunks.length).toBe(64);
    pool.end(0);
    expect((await first).value).toBe(0);
    await it.return(undefined);
    expect(pool.stops.length).toBe(63);
    expect(pool.stops.every((s) => s.quiet)).toBe(true);
  });

  it('a failed chunk throws at its place; an abort ends the loop with AbortError', async () => {
    const pool = new FakePool();
    const got: unknown[] = [];
    const failing = (async () => {
      for await (const value of stream(pool, streamJob([1, 2, 3], true))) got.push(value);
    })();
    await turn();
    pool.end(0);
    pool.end(1, false, new RangeError('chunk 2 failed'));
    await expect(failing).rejects.toThrow('chunk 2 failed');
    expect(got).toEqual([2]);

    const controller = new AbortController();
    const aborting = stream(new FakePool(), streamJob([1, 2], true, controller.signal));
    const next = aborting.next();
    await turn();
    controller.abort();
    await expect(next).rejects.toBeInstanceOf(AbortError);
  });
});
