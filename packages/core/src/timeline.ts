/**
 * Draws a playlist's timeline as a terminal Gantt chart: one row per entry, a bar from its
 * start to its end, so sequential play reads as a staircase and concurrent play as a stack.
 */
import type { PlaylistReport, TimelineEntry } from './playlist.js';
import { checkInteger, checkOptionsObject, describe } from './validate.js';

/** Options of {@link renderTimeline}. */
export interface RenderOptions {
  /** Columns for the bars. @default 48 */
  readonly width?: number;
  /** Milliseconds per displayed unit, e.g. 100 when one seed "second" is 100 ms. @default 1000 */
  readonly unitMs?: number;
  /** The displayed unit's suffix. @default 's' */
  readonly unit?: string;
}

/** The width a terminal gives a string: East Asian wide characters take two columns. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    width +=
      (cp >= 0x1100 && cp <= 0x115f) ||
      (cp >= 0x2e80 && cp <= 0xa4cf) ||
      (cp >= 0xac00 && cp <= 0xd7a3) ||
      (cp >= 0xf900 && cp <= 0xfaff) ||
      (cp >= 0xfe30 && cp <= 0xfe4f) ||
      (cp >= 0xff00 && cp <= 0xff60) ||
      (cp >= 0xffe0 && cp <= 0xffe6) ||
      (cp >= 0x1f300 && cp <= 0x1faff) ||
      (cp >= 0x20000 && cp <= 0x3fffd)
        ? 2
        : 1;
  }
  return width;
}

function pad(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - displayWidth(text)));
}

function fmt(ms: number, unitMs: number, unit: string): string {
  const v = ms / unitMs;
  return `${v >= 10 ? v.toFixed(1) : v.toFixed(2)}${unit}`;
}

/** Renders a report as lines of text: a header, one bar per entry, and the total. */
export function renderTimeline(report: PlaylistReport, options?: RenderOptions): string {
  const what = 'Cannot render the timeline';
  if (typeof report !== 'object' || report === null || !Array.isArray((report as Partial<PlaylistReport>).timeline)) {
    throw new TypeError(`${what}: report must be what Playlist.play() resolved with ({ mode, elapsed, timeline }), got ${describe(report)}`);
  }
  const o = checkOptionsObject<RenderOptions>(what, options, ['width', 'unitMs', 'unit']);
  const width = Math.max(10, o.width === undefined ? 48 : checkInteger(what, 'width', o.width, 1));
  const unitMs = o.unitMs ?? 1000;
  if (typeof unitMs !== 'number' || !(unitMs > 0) || !Number.isFinite(unitMs))
    throw new RangeError(`${what}: unitMs must be a number of milliseconds above 0, got ${describe(unitMs)}`);
  const unit = o.unit ?? 's';
  if (typeof unit !== 'string') throw new TypeError(`${what}: unit must be a string, got ${describe(unit)}`);
  const rows: readonly TimelineEntry[] = report.timeline.filter(Boolean);
  const span = Math.max(report.elapsed, ...rows.map((r) => r.end), 1);
  const perCol = span / width;
  const titleW = Math.max(5, ...rows.map((r) => displayWidth(r.title)));
  const workerW = Math.max(6, ...rows.map((r) => displayWidth(r.worker)));
  const lines: string[] = [];
  lines.push(`${pad('title', titleW)}  ${pad('worker', workerW)}  0${' '.repeat(width - 1 - fmt(span, unitMs, unit).length)}${fmt(span, unitMs, unit)}`);
  for (const r of rows) {
    const from = Math.max(0, Math.min(width - 1, Math.floor(r.start / perCol)));
    const to = Math.max(from + 1, Math.min(width, Math.round(r.end / perCol)));
    const bar = ' '.repeat(from) + (r.error ? '×' : '█').repeat(to - from) + ' '.repeat(width - to);
    const note = r.error ? `  failed: ${r.error.message}` : `  ${fmt(r.start, unitMs, unit)} → ${fmt(r.end, unitMs, unit)}`;
    lines.push(`${pad(r.title, titleW)}  ${pad(r.worker, workerW)} │${bar}│${note}`);
  }
  const sum = rows.reduce((s, r) => s + (r.end - r.start), 0);
  const longest = Math.max(0, ...rows.map((r) => r.end - r.start));
  lines.push(
    `${report.mode}: total ${fmt(report.elapsed, unitMs, unit)} (sum of tracks ${fmt(sum, unitMs, unit)}, longest track ${fmt(longest, unitMs, unit)})`,
  );
  return lines.join('\n');
}
