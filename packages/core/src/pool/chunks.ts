/**
 * `map`, `starmap`, `imap` and `imapUnordered`: items cut into chunks as Python cuts them, the
 * chunks handed to a pool, and their results put back in order (or streamed as they come),
 * written against {@link ChunkSubmitter} alone, so that any kind of pool (threads and processes
 * here, workers on other machines) gets them unchanged.
 */
import { _clearTimeout, _setWeakTimeout, type TimerHandle } from '../_globals.js';
import { AbortError, TimeoutError } from '../errors.js';
import type { AbortSignalLike } from '../futex.js';
import { describe } from '../validate.js';
import { checkOptionsObject, checkSignal, checkTimeout } from '../validate.js';
import { IMAP_KEYS, MAP_KEYS, abortError, checkChunksize, type ImapOptions, type MapOptions, type MapProgress } from './options.js';

/** Why a chunk is stopped. */
export type StopReason = 'abort' | 'timeout';

/** What chunking needs of a pool: submit a chunk, hear how it ended, stop it. */
export interface ChunkSubmitter<C> {
  /** How many workers the pool has at most (Python's default chunksize is cut from it). */
  readonly size: number;
  /** Throws why the pool takes no more chunks (closed, terminated, broken). */
  checkOpen(what: string): void;
  /** Whether the pool's queue has room for another chunk now (a bounded queue may be full). */
  hasRoom(): boolean;
  /** Resolves when the queue may have room again (the caller checks again). */
  whenRoom(): Promise<void>;
  /**
   * Whether the pool calls a chunk's `started` when it starts running on a worker: a `map`'s
   * `timeout` then counts from when its first chunk starts (a local Pool); else from the call
   * (a RemotePool, whose timeout covers the wait for a worker).
   */
  readonly startsClock?: boolean;
  /**
   * Submits a chunk of `items` (each the item, or for `starmap` its array of arguments); `done`
   * is called once, with the chunk's results (array-like, in order) or its error; `started`, where
   * the pool {@link startsClock}, once when it starts running.
   */
  submit(items: unknown[], starmap: boolean, done: (ok: boolean, value: unknown) => void, started?: () => void): C;
  /**
   * Stops a chunk: it settles at once with `error` (its `done` is called); one that has ended is
   * left alone. A `quiet` stop is not counted as an abort and gives a running chunk no grace period.
   */
  stop(chunk: C, error: Error, reason: StopReason, quiet?: boolean): void;
}

/** Python's default chunk size for `map`: four chunks per worker. */
export function defaultChunksize(total: number, size: number): number {
  return Math.ceil(total / (size * 4));
}

export function isIterable(value: unknown): value is Iterable<unknown> {
  return value !== null && value !== undefined && typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function';
}

export function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return value !== null && value !== undefined && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
}

/** A `map` (or `starmap`) with its options checked. */
export interface MapJob {
  readonly what: string;
  readonly list: readonly unknown[];
  readonly starmap: boolean;
  readonly chunksize: number | undefined;
  readonly signal: AbortSignalLike | undefined;
  readonly timeout: number | undefined;
  readonly onProgress: ((progress: MapProgress) => void) | undefined;
}

/**
 * Runs a `map`: resolves with every result in order, or rejects with the first failure; an abort
 * or a timeout stops the chunks still running, a failure lets them finish unwatched.
 */
export function mapAll<C>(pool: ChunkSubmitter<C>, job: MapJob): Promise<unknown[]> {
  const { what, list, signal, timeout, onProgress } = job;
  const total = list.length;
  if (total === 0) return Promise.resolve([]);
  const chunksize = job.chunksize ?? defaultChunksize(total, pool.size);
  const out = new Array<unknown>(total);
  const chunks: C[] = [];
  let done = 0;
  let left = Math.ceil(total / chunksize);
  let settled = false;
  return new Promise<unknown[]>((resolve, reject) => {
    let timer: TimerHandle | undefined;
    const finish = (error: unknown, reason?: StopReason): void => {
      if (settled) return;
      settled = true;
      if (signal) signal.removeEventListener('abort', onAbort);
      _clearTimeout(timer);
      if (error === undefined) {
        resolve(out);
        return;
      }
      // An abort stops the running chunks as an aborted apply is stopped; after a failure they may finish.
      for (const c of chunks) pool.stop(c, error as Error, reason ?? 'abort', reason === undefined);
      reject(error);
    };
    const onAbort = (): void => finish(abortError(what, signal!), 'abort');
    if (signal) signal.addEventListener('abort', onAbort, { once: true });
    const startClock = (): void => {
      if (timer !== undefined || settled || timeout === undefined) return;
      const since = pool.startsClock ? ' of its first chunk starting' : '';
      timer = _setWeakTimeout(() => finish(new TimeoutError(`${what}: it did not finish within ${timeout} ms${since}`), 'timeout'), timeout);
    };
    if (!pool.startsClock) startClock();
    const started = pool.startsClock && timeout !== undefined ? startClock : undefined;
    const submit = async (): Promise<void> => {
      for (let at = 0; at < total && !settled; at += chunksize) {
        while (!pool.hasRoom() && !settled) await pool.whenRoom();
        if (settled) return;
        pool.checkOpen(what);
        const offset = at;
        const count = Math.min(chunksize, total - at);
        const chunk = pool.submit(
          list.slice(at, at + count),
          job.starmap,
          (ok, value) => {
            if (settled) return;
            if (!ok) return finish(value);
            const values = value as ArrayLike<unknown>;
            for (let i = 0; i < values.length; i++) out[offset + i] = values[i];
            done += count;
            if (onProgress) {
              try {
                onProgress({ done, total });
              } catch (error) {
                return finish(error);
              }
            }
            if (--left === 0) finish(undefined);
          },
          started,
        );
        chunks.push(chunk);
      }
    };
    submit().catch((error: unknown) => finish(error));
  });
}

/** An `imap` (or `imapUnordered`) with its options checked. */
export interface StreamJob {
  readonly what: string;
  readonly source: Iterator<unknown> | AsyncIterator<unknown>;
  readonly isAsync: boolean;
  readonly chunksize: number;
  readonly signal: AbortSignalLike | undefined;
  readonly ordered: boolean;
}

/** The most chunks an `imap` has in the pool at once (it reads its input no further ahead). */
const READ_AHEAD = 64;

/** A chunk in flight, and how it ended. */
interface Flight<C> {
  chunk: C | undefined;
  ended: boolean;
  ok: boolean;
  value: unknown;
}

/**
 * Streams an `imap`: reads the items only as far ahead as needed, and yields the results in order
 * (`ordered`) or as they come. A failed chunk throws from the loop at its place; ending the loop
 * early stops what was read ahead.
 */
export async function* stream<C>(pool: ChunkSubmitter<C>, job: StreamJob): AsyncGenerator<unknown, void, undefined> {
  const { what, source, isAsync, chunksize, signal, ordered } = job;
  const inflight: Flight<C>[] = [];
  const ready: Flight<C>[] = [];
  let wake: (() => void) | undefined;
  let failure: Error | undefined;
  let sourceDone = false;
  const limit = Math.max(READ_AHEAD, 4 * pool.size);
  let wakeFromRoom: (() => void) | undefined;
  const aborted = new Promise<void>((resolve) => (wakeFromRoom = resolve));
  const onAbort = (): void => {
    failure ??= abortError(what, signal!);
    for (const f of inflight) if (!f.ended) pool.stop(f.chunk!, failure, 'abort');
    wakeFromRoom?.();
    wake?.();
  };
  if (signal) signal.addEventListener('abort', onAbort, { once: true });
  try {
    if (signal?.aborted) throw abortError(what, signal);
    for (;;) {
      while (!sourceDone && inflight.length < limit) {
        const items: unknown[] = [];
        while (items.length < chunksize) {
          const step = isAsync ? await (source as AsyncIterator<unknown>).next() : (source as Iterator<unknown>).next();
          if (step.done) {
            sourceDone = true;
            break;
          }
          items.push(step.value);
        }
        if (items.length === 0) break;
        while (!pool.hasRoom() && !failure) await Promise.race([pool.whenRoom(), aborted]);
        if (failure) throw failure;
        pool.checkOpen(what);
        const flight: Flight<C> = { chunk: undefined, ended: false, ok: false, value: undefined };
        inflight.push(flight);
        flight.chunk = pool.submit(items, false, (ok, value) => {
          flight.ended = true;
          flight.ok = ok;
          flight.value = value;
          if (!ordered) ready.push(flight);
          wake?.();
        });
      }
      if (inflight.length === 0) return;
      let flight: Flight<C> | undefined;
      for (;;) {
        if (failure) throw failure;
        flight = ordered ? (inflight[0]!.ended ? inflight[0] : undefined) : ready.shift();
        if (flight) break;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
      if (ordered) inflight.shift();
      else inflight.splice(inflight.indexOf(flight), 1);
      if (!flight.ok) throw flight.value;
      const values = flight.value as ArrayLike<unknown>;
      flight.value = undefined;
      for (let i = 0; i < values.length; i++) yield values[i];
    }
  } finally {
    if (signal) signal.removeEventListener('abort', onAbort);
    // Ended early (a break, an error): what was read ahead is not needed any more.
    for (const f of inflight)
      if (!f.ended && f.chunk !== undefined) pool.stop(f.chunk, new AbortError(`${what}: the iteration ended before this chunk was needed`), 'abort', true);
    if (!sourceDone) await source.return?.();
  }
}

/** Checks the items of a `map` or `starmap` and makes them an array. */
export function mapItems(what: string, items: unknown, starmap: boolean): readonly unknown[] {
  if (!isIterable(items)) {
    throw new TypeError(
      `${what}: items must be an iterable (an array, a Set, a generator…)${isAsyncIterable(items) ? '; for an async iterable use imap()' : ''}, got ${describe(items)}`,
    );
  }
  const list = Array.isArray(items) ? items : [...items];
  if (starmap) {
    for (let i = 0; i < list.length; i++) {
      if (!Array.isArray(list[i])) throw new TypeError(`${what}: each item must be an array of arguments, got ${describe(list[i])} at items[${i}]`);
    }
  }
  return list;
}

/** Opens the items of an `imap`: any iterable or async iterable. */
export function streamSource(what: string, items: unknown): { source: Iterator<unknown> | AsyncIterator<unknown>; isAsync: boolean } {
  if (isAsyncIterable(items)) return { source: items[Symbol.asyncIterator](), isAsync: true };
  if (isIterable(items)) return { source: items[Symbol.iterator](), isAsync: false };
  throw new TypeError(`${what}: items must be an iterable or an async iterable, got ${describe(items)}`);
}

/** Checks a `map` (or `starmap`) call's items and options, as every kind of pool takes them. */
export function mapJob(what: string, items: unknown, options: unknown, starmap: boolean): MapJob {
  const list = mapItems(what, items, starmap);
  const o = checkOptionsObject<MapOptions>(what, options, MAP_KEYS);
  const signal = checkSignal(what, o.signal);
  const timeout = checkTimeout(what, o.timeout);
  const onProgress = o.onProgress;
  if (onProgress !== undefined && typeof onProgress !== 'function') throw new TypeError(`${what}: onProgress must be a function, got ${describe(onProgress)}`);
  const chunksize = checkChunksize(what, o.chunksize);
  if (signal?.aborted) throw abortError(what, signal);
  return { what, list, starmap, chunksize, signal, timeout, onProgress };
}

/** Checks an `imap` (or `imapUnordered`) call's items and options, as every kind of pool takes them. */
export function streamJob(what: string, items: unknown, options: unknown, ordered: boolean): StreamJob {
  const { source, isAsync } = streamSource(what, items);
  const o = checkOptionsObject<ImapOptions>(what, options, IMAP_KEYS);
  const signal = checkSignal(what, o.signal);
  const chunksize = checkChunksize(what, o.chunksize) ?? 1;
  return { what, source, isAsync, chunksize, signal, ordered };
}
