/**
 * `Playlist`: the seed's player generalized. A list of `{ title, task, args }` played one
 * after another, on threads or on processes, returning a timeline that shows what overlapped.
 */
import { _now } from './_globals.js';
import { Process, Thread, type BaseThread, type Invocation } from './thread.js';
import type { AnyFunction, Target } from './task.js';
import { checkInteger, checkOptionsObject, describe } from './validate.js';

/** One entry: a title, the task to play and its arguments. */
export interface PlaylistEntry<F extends AnyFunction = AnyFunction> {
  readonly title: string;
  readonly task: Target<F>;
  readonly args: Parameters<F>;
}

/** How to play: all in one worker in turn, or concurrently on threads or processes. */
export type PlayMode = 'sequential' | 'threads' | 'processes';

/** Options of {@link Playlist.play}. */
export interface PlayOptions {
  /** @default 'sequential' */
  readonly mode?: PlayMode;
  /** How many workers play at once in `threads`/`processes` mode. @default the number of entries */
  readonly concurrency?: number;
  /** Called as each entry starts and ends, for live displays. Times are ms since `play()` began. */
  readonly onEvent?: (event: PlaylistEvent) => void;
}

/** A live event: an entry began (as dispatched) or ended (as measured in the worker). */
export type PlaylistEvent =
  | { readonly type: 'start'; readonly index: number; readonly title: string; readonly worker: string; readonly time: number }
  | { readonly type: 'end'; readonly index: number; readonly entry: TimelineEntry };

/** One played entry: which worker played it, when (ms since `play()` began, measured inside the worker), and its result or error. */
export interface TimelineEntry {
  readonly title: string;
  readonly worker: string;
  readonly start: number;
  readonly end: number;
  readonly result?: unknown;
  readonly error?: Error;
}

/** What {@link Playlist.play} returns. */
export interface PlaylistReport {
  readonly mode: PlayMode;
  /** Wall-clock ms from `play()` to the last worker's end. */
  readonly elapsed: number;
  /** In playlist order. */
  readonly timeline: readonly TimelineEntry[];
}

/**
 * The seed's player over any list of tasks.
 * @example
 * const report = await new Playlist([{ title: '歌曲1', task: tasks.superPlayer, args: ['歌曲1', 3] }]).play({ mode: 'threads' });
 * console.log(renderTimeline(report));
 */
export class Playlist {
  readonly entries: readonly PlaylistEntry[];

  constructor(entries: readonly PlaylistEntry[]);
  constructor(entries: readonly PlaylistEntry[]) {
    if (!Array.isArray(entries)) throw new TypeError(`Cannot create a Playlist: expected an array of { title, task, args }, got ${describe(entries)}`);
    entries.forEach((e, i) => {
      if (typeof e !== 'object' || e === null) throw new TypeError(`Cannot create a Playlist: entry ${i} must be { title, task, args }, got ${describe(e)}`);
      if (typeof e.title !== 'string') throw new TypeError(`Cannot create a Playlist: entry ${i} needs a string title, got ${describe(e.title)}`);
      if (typeof e.task !== 'function' && (typeof e.task !== 'object' || e.task === null)) {
        throw new TypeError(`Cannot create a Playlist: entry ${i} (${e.title}) needs a task from taskModule() or a function, got ${describe(e.task)}`);
      }
      if (e.args !== undefined && !Array.isArray(e.args))
        throw new TypeError(`Cannot create a Playlist: entry ${i} (${e.title}) args must be an array, got ${describe(e.args)}`);
    });
    this.entries = entries.map((e) => ({ ...e, args: (e.args ?? []) as PlaylistEntry['args'] }));
  }

  /** A typed constructor: each entry's `args` is checked against its task. */
  static of<const Fs extends readonly AnyFunction[]>(
    entries: { readonly [K in keyof Fs]: { readonly title: string; readonly task: Target<Fs[K]>; readonly args: NoInfer<Parameters<Fs[K]>> } },
  ): Playlist {
    return new Playlist(entries as readonly PlaylistEntry[]);
  }

  /** Plays every entry and resolves with the timeline. An entry that fails is recorded with its error; the others still play. */
  async play(options?: PlayOptions): Promise<PlaylistReport> {
    const { mode = 'sequential', onEvent, concurrency: wanted } = checkOptionsObject<PlayOptions>('Cannot play', options, ['mode', 'concurrency', 'onEvent']);
    if (onEvent !== undefined && typeof onEvent !== 'function') throw new TypeError(`Cannot play: onEvent must be a function, got ${describe(onEvent)}`);
    if (mode !== 'sequential' && mode !== 'threads' && mode !== 'processes') {
      throw new TypeError(`Cannot play: mode must be 'sequential', 'threads' or 'processes', got ${describe(mode)}`);
    }
    const n = this.entries.length;
    let concurrency = wanted === undefined ? n : checkInteger('Cannot play', 'concurrency', wanted, 1);
    if (mode === 'sequential') concurrency = 1;
    concurrency = Math.max(1, Math.min(concurrency, n));
    const origin = _now();
    const timeline: TimelineEntry[] = new Array(n);
    let next = 0;
    const take = (): number | undefined => (next < n ? next++ : undefined);
    const Player = mode === 'processes' ? ProcessPlayer : ThreadPlayer;
    const players: BaseThread[] = [];
    for (let w = 0; w < (n === 0 ? 0 : concurrency); w++) {
      const worker = mode === 'sequential' ? 'Thread-1' : `${mode === 'processes' ? 'Process' : 'Thread'}-${w + 1}`;
      const player = new Player({
        entries: this.entries,
        take,
        worker,
        origin,
        record: (index, entry) => {
          timeline[index] = entry;
          onEvent?.({ type: 'end', index, entry });
        },
        started: (index) => onEvent?.({ type: 'start', index, title: this.entries[index]!.title, worker, time: _now() - origin }),
      });
      player.name = `playlist-${worker}`;
      players.push(player);
      player.start();
    }
    await Promise.all(players.map((p) => p.join()));
    for (const p of players) {
      // A player whose worker died takes its unplayed entries' errors with it.
      if (p.error) {
        for (let i = 0; i < n; i++) {
          timeline[i] ??= { title: this.entries[i]!.title, worker: p.name, start: 0, end: _now() - origin, error: p.error };
        }
      }
    }
    return { mode, elapsed: _now() - origin, timeline };
  }
}

interface PlayerOptions {
  entries: readonly PlaylistEntry[];
  take(): number | undefined;
  worker: string;
  origin: number;
  record(index: number, entry: TimelineEntry): void;
  started(index: number): void;
}

type InvokeDetailed = (task: Target, ...args: unknown[]) => Promise<Invocation<unknown>>;

/** The seed's `MyThread` pattern: a `run()` that plays entries until none is left. */
async function playAll(o: PlayerOptions, invoke: InvokeDetailed): Promise<void> {
  for (let index = o.take(); index !== undefined; index = o.take()) {
    const entry = o.entries[index]!;
    o.started(index);
    const outcome = await invoke(entry.task, ...entry.args);
    const times = { title: entry.title, worker: o.worker, start: outcome.started - o.origin, end: outcome.ended - o.origin };
    o.record(index, outcome.ok ? { ...times, result: outcome.value } : { ...times, error: outcome.error });
  }
}

class ThreadPlayer extends Thread {
  constructor(readonly options: PlayerOptions) {
    super({});
  }
  protected override run(): Promise<void> {
    return playAll(this.options, (task, ...args) => this.invokeDetailed(task, ...args));
  }
}

class ProcessPlayer extends Process {
  constructor(readonly options: PlayerOptions) {
    super({});
  }
  protected override run(): Promise<void> {
    return playAll(this.options, (task, ...args) => this.invokeDetailed(task, ...args));
  }
}
