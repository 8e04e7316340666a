/**
 * The demo page: the seed's player (E1–E6) as a Playlist with a live timeline, one lane per
 * worker, and E7 (Pipe) and E8 (Queue, Lock) showing the messages that went through.
 *
 * The task module is named exactly as on Node; `@threadkit/browser/vite` (vite.config.ts)
 * builds it as a worker entry.
 */
import {
  Barrier,
  Lock,
  Pipe,
  Playlist,
  Process,
  Queue,
  Thread,
  cpuCount,
  taskModule,
  type PlayMode,
  type PlaylistEntry,
  type TimelineEntry,
} from '@threadkit/browser';

const tasks = taskModule<typeof import('./tasks.ts')>(new URL('./tasks.ts', import.meta.url));

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const esc = (s: string): string => s.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!);

// ── What the page runs on ───────────────────────────────────────────────────────────────────

const isolated = crossOriginIsolated === true;
const shares = new Queue().sharedMemory; // threadkit's own answer: does a new Queue live in shared memory?
$('status').innerHTML = [
  `<span class="pill ${isolated ? 'yes' : 'no'}" id="isolation" data-isolated="${isolated}">cross-origin isolated: <b>${isolated ? 'yes' : 'no'}</b></span>`,
  `<span class="pill ${shares ? 'yes' : 'no'}" id="transport" data-transport="${shares ? 'shared' : 'message'}">transport between threads: <b>${
    shares ? 'shared memory (SharedArrayBuffer rings)' : 'messages (no SharedArrayBuffer without isolation)'
  }</b></span>`,
  `<span class="pill">processes: <b>isolated workers, reached by messages</b></span>`,
  `<span class="pill">CPUs: <b>${cpuCount()}</b></span>`,
  `<span class="pill"><a href="?isolated=${isolated ? '0' : '1'}">load ${isolated ? 'without' : 'with'} isolation</a></span>`,
].join('');

// ── The seed's playlists ───────────────────────────────────────────────────────────────────

interface Track {
  readonly title: string;
  /** How long it plays, in seed seconds. */
  readonly seconds: number;
  /**
   * Its Playlist entry. Concurrent tracks are given a start line, a Barrier with a party per
   * track: each waits there until all are up, then plays (tasks.together), so their bars overlap
   * however long the workers took to start.
   */
  readonly entry: (scale: number, startLine?: Barrier) => PlaylistEntry;
}

const entry = (title: string, task: unknown, args: unknown[]): PlaylistEntry => ({ title, task, args }) as PlaylistEntry;

/** A track played by the player of that name, at the start line when there is one. */
const playedBy =
  (title: string, player: 'music' | 'movie' | 'superPlayer', args: unknown[]) =>
  (scale: number, startLine?: Barrier): PlaylistEntry =>
    startLine ? entry(title, tasks.together, [startLine, player, ...args, scale]) : entry(title, tasks[player], [...args, scale]);

const PLAYLISTS: Record<string, { label: string; tracks: Track[] }> = {
  E4: {
    label: "E4–E6: super_player over {'歌曲1': 3, '视频2': 3, '歌曲3': 4}, each played twice",
    tracks: Object.entries({ 歌曲1: 3, 视频2: 3, 歌曲3: 4 }).map(([file, time]) => ({
      title: file,
      seconds: 2 * time,
      entry: playedBy(file, 'superPlayer', [file, time]),
    })),
  },
  E3: {
    label: "E2–E3: music('爱情买卖', 2) and movie('阿凡达', 2)",
    tracks: [
      { title: '爱情买卖', seconds: 2 * 2, entry: playedBy('爱情买卖', 'music', ['爱情买卖', 2]) },
      { title: '阿凡达', seconds: 2 * 5, entry: playedBy('阿凡达', 'movie', ['阿凡达', 2]) },
    ],
  },
};

const playlistSelect = $<HTMLSelectElement>('playlist');
for (const [id, list] of Object.entries(PLAYLISTS)) playlistSelect.add(new Option(list.label, id));
const scaleSelect = $<HTMLSelectElement>('scale');
const scale0 = Number(params.get('scale')) || 250;
for (const ms of new Set([100, 250, 500, 1000, scale0].sort((a, b) => a - b)))
  scaleSelect.add(new Option(String(ms), String(ms), ms === scale0, ms === scale0));
const modeSelect = $<HTMLSelectElement>('mode');
if (params.get('mode')) modeSelect.value = params.get('mode')!;

// ── The live timeline ──────────────────────────────────────────────────────────────────────

const COLORS = ['#3b5bdb', '#e8590c', '#2f9e44', '#ae3ec9', '#1098ad', '#f08c00'];

interface Bar {
  readonly el: HTMLElement;
  start: number;
  end: number | undefined;
}

async function play(): Promise<void> {
  const list = PLAYLISTS[playlistSelect.value]!;
  const mode = modeSelect.value as PlayMode;
  const scale = Number(scaleSelect.value);
  const section = $('player');
  const button = $<HTMLButtonElement>('play');
  const timeline = $('timeline');
  const total = $('total');
  button.disabled = true;
  section.dataset.state = 'playing';
  timeline.replaceChildren();
  total.textContent = `${mode}: playing…`;

  const durations = list.tracks.map((t) => t.seconds * scale);
  const longest = Math.max(...durations);
  const sum = durations.reduce((a, b) => a + b, 0);
  let axis = (mode === 'sequential' ? sum : longest) * 1.15 + 200;
  const lanes = new Map<string, HTMLElement>();
  const bars = new Map<number, Bar>();
  const t0 = performance.now();

  const lane = (worker: string): HTMLElement => {
    let track = lanes.get(worker);
    if (!track) {
      const row = document.createElement('div');
      row.className = 'lane';
      row.dataset.worker = worker;
      row.innerHTML = `<span class="who">${esc(worker)}</span><div class="track"></div>`;
      timeline.append(row);
      track = row.querySelector<HTMLElement>('.track')!;
      lanes.set(worker, track);
    }
    return track;
  };

  const render = (): void => {
    const elapsed = performance.now() - t0;
    if (elapsed > axis) axis = elapsed * 1.1;
    for (const bar of bars.values()) {
      const end = bar.end ?? elapsed;
      bar.el.style.left = `${(bar.start / axis) * 100}%`;
      bar.el.style.width = `${(Math.max(0, end - bar.start) / axis) * 100}%`;
    }
    const step = [100, 200, 250, 500, 1000, 2000, 5000, 10000].find((s) => axis / s <= 8) ?? 20000;
    const ticks: string[] = [];
    for (let t = 0; t <= axis; t += step) ticks.push(`<span style="left:${(t / axis) * 100}%">${seconds(t).replace('.00', '')}</span>`);
    $('ticks').innerHTML = ticks.join('');
  };

  let frame = 0;
  const animate = (): void => {
    render();
    frame = requestAnimationFrame(animate);
  };
  animate();

  try {
    const startLine = mode === 'sequential' ? undefined : new Barrier(list.tracks.length);
    const entries = list.tracks.map((t) => t.entry(scale, startLine));
    const report = await new Playlist(entries).play({
      mode,
      onEvent: (event) => {
        if (event.type === 'start') {
          const el = document.createElement('div');
          el.className = 'bar playing';
          el.dataset.title = event.title;
          el.dataset.worker = event.worker;
          el.style.background = COLORS[event.index % COLORS.length]!;
          el.textContent = event.title;
          lane(event.worker).append(el);
          bars.set(event.index, { el, start: event.time, end: undefined });
        } else {
          const done: TimelineEntry = event.entry;
          const bar = bars.get(event.index);
          if (!bar) return;
          // The worker measured when the track really played: the bar takes those times.
          bar.start = done.start;
          bar.end = done.end;
          bar.el.classList.remove('playing');
          bar.el.classList.toggle('failed', done.error !== undefined);
          bar.el.dataset.start = String(Math.round(done.start));
          bar.el.dataset.end = String(Math.round(done.end));
          bar.el.title = done.error ? `${done.title}: ${done.error.message}` : `${done.title}: ${seconds(done.start)} → ${seconds(done.end)}`;
          bar.el.textContent = `${done.title} ${seconds(done.end - done.start)}`;
        }
      },
    });
    cancelAnimationFrame(frame);
    axis = Math.max(report.elapsed * 1.05, 1);
    render();
    total.dataset.elapsed = String(Math.round(report.elapsed));
    total.dataset.longest = String(longest);
    total.dataset.sum = String(sum);
    const met = startLine ? `; the players met at a start line, so a bar begins where its player arrived there` : '';
    total.innerHTML = `${mode}: total <b>${seconds(report.elapsed)}</b> &nbsp;<span class="muted">(longest track ${seconds(longest)}, all tracks together ${seconds(sum)}, ${lanes.size} worker${lanes.size === 1 ? '' : 's'}${met})</span>`;
    section.dataset.state = report.timeline.some((e) => e.error) ? 'failed' : 'done';
  } catch (error) {
    cancelAnimationFrame(frame);
    total.textContent = `failed: ${(error as Error).message}`;
    section.dataset.state = 'failed';
  } finally {
    button.disabled = false;
  }
}

$('play').addEventListener('click', () => void play());

// ── E7: a Pipe ─────────────────────────────────────────────────────────────────────────────

const workerClass = (kind: string): typeof Thread | typeof Process => (kind === 'threads' ? Thread : Process);

async function runE7(): Promise<void> {
  const section = $('e7');
  const log = $('e7-log');
  const check = $('e7-check');
  const Kind = workerClass($<HTMLSelectElement>('e7-kind').value);
  section.dataset.state = 'running';
  log.textContent = '';
  check.textContent = '';
  check.className = 'check';
  try {
    // pipe = Pipe(): two connected ends; each travels to its worker as an ordinary argument.
    const [a, b] = Pipe();
    const p1 = new Kind({ target: tasks.proc1, args: [a] });
    const p2 = new Kind({ target: tasks.proc2, args: [b] });
    const t0 = performance.timeOrigin + performance.now();
    p1.start();
    p2.start();
    const [r1, r2] = await Promise.all([p1.result(), p2.result()]);
    const lines = [
      ...r1.steps.map((s) => ({ who: 'proc1', worker: r1.worker, cls: 'a', s })),
      ...r2.steps.map((s) => ({ who: 'proc2', worker: r2.worker, cls: 'b', s })),
    ].sort((x, y) => x.s.at - y.s.at);
    log.innerHTML = lines
      .map(({ who, worker, cls, s }) => {
        const what = s.what === 'send' ? `send(${JSON.stringify(s.obj)})` : s.what === 'recv' ? 'recv() waits…' : `recv() → ${JSON.stringify(s.obj)}`;
        return `<span class="t">+${(s.at - t0).toFixed(1).padStart(6)} ms</span>  <span class="${cls}">${who} (${esc(worker)})</span>  ${esc(what)}`;
      })
      .join('\n');
    const got1 = r1.steps.find((s) => s.what === 'received')?.obj;
    const got2 = r2.steps.find((s) => s.what === 'received')?.obj;
    const ok = got1 === 'hello, too' && got2 === 'hello';
    check.textContent = ok
      ? `✓ proc2 received 'hello', proc1 received 'hello, too' (exit codes ${p1.exitCode}, ${p2.exitCode})`
      : `✗ unexpected: ${JSON.stringify([got1, got2])}`;
    check.className = `check ${ok ? 'ok' : 'bad'}`;
    section.dataset.state = ok ? 'done' : 'failed';
  } catch (error) {
    check.textContent = `✗ ${(error as Error).message}`;
    check.className = 'check bad';
    section.dataset.state = 'failed';
  }
}

$('e7-run').addEventListener('click', () => void runE7());

// ── E8: a Queue and a Lock ─────────────────────────────────────────────────────────────────

async function runE8(): Promise<void> {
  const section = $('e8');
  const log = $('e8-log');
  const check = $('e8-check');
  const sizesEl = $('e8-sizes');
  const Kind = workerClass($<HTMLSelectElement>('e8-kind').value);
  section.dataset.state = 'running';
  log.textContent = '';
  sizesEl.replaceChildren();
  check.textContent = '';
  check.className = 'check';
  try {
    const queue = new Queue<string>(3); // Queue(3), as in queue.py
    const lock = new Lock();
    // The page owns the queue, so it can watch its size while the workers use it.
    const sizes: number[] = [];
    const sampler = setInterval(() => sizes.push(queue.qsize()), 4);
    const t0 = performance.timeOrigin + performance.now();
    const producers = Array.from({ length: 10 }, () => new Kind({ target: tasks.inputQ, args: [queue] }));
    const consumers = Array.from({ length: 10 }, () => new Kind({ target: tasks.outputQ, args: [queue, lock] }));
    for (const p of [...producers, ...consumers]) p.start();
    const put = await Promise.all(producers.map((p) => p.result()));
    queue.close();
    const got = await Promise.all(consumers.map((c) => c.result()));
    clearInterval(sampler);
    const rows = [
      ...put.map((s) => ({ at: s.done, text: `<span class="a">${esc(s.worker)}</span> put  ${esc(s.info)}` })),
      ...got.map((s) => ({ at: s.done, text: `<span class="b">${esc(s.worker)}</span> got  ${esc(s.info)}` })),
    ].sort((a, b) => a.at - b.at);
    log.innerHTML = rows.map((r) => `<span class="t">+${(r.at - t0).toFixed(1).padStart(6)} ms</span>  ${r.text}`).join('\n');
    const step = Math.max(1, Math.ceil(sizes.length / 200));
    for (let i = 0; i < sizes.length; i += step) {
      const bar = document.createElement('i');
      bar.style.height = `${(sizes[i]! / 3) * 100}%`;
      sizesEl.append(bar);
    }
    const putSet = put.map((s) => s.info).sort();
    const gotSet = got.map((s) => s.info).sort();
    const ok = putSet.length === 10 && JSON.stringify(putSet) === JSON.stringify(gotSet);
    section.dataset.put = String(put.length);
    section.dataset.got = String(got.length);
    check.textContent = ok
      ? `✓ 10 items put, 10 got, each exactly once; the queue never held more than ${Math.max(0, ...sizes)} (maxsize 3)`
      : `✗ put and got differ: ${putSet.length} put, ${gotSet.length} got`;
    check.className = `check ${ok ? 'ok' : 'bad'}`;
    section.dataset.state = ok ? 'done' : 'failed';
  } catch (error) {
    check.textContent = `✗ ${(error as Error).message}`;
    check.className = 'check bad';
    section.dataset.state = 'failed';
  }
}

$('e8-run').addEventListener('click', () => void runE8());

if (params.get('autoplay') === '1') void play();
