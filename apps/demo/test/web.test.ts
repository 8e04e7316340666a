/**
 * End to end: builds the demo page with Vite (web/vite.config.ts, with @threadkit/browser/vite),
 * serves the build, and drives it in Debian's headless Chromium with Playwright: plays the seed's
 * playlist, runs E7 and E8, checks what the page shows, and saves a screenshot
 * (test-results/page.png; the README's copy is web/screenshot.png).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright';
import { build, preview, type PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const configFile = fileURLToPath(new URL('../web/vite.config.ts', import.meta.url));
const results = fileURLToPath(new URL('../test-results/', import.meta.url));

let server: PreviewServer;
let browser: Browser;
let base: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`Cannot run the page's end-to-end test: ${CHROMIUM} is missing; install Debian's chromium (apt-get install -y chromium), as .ci/run does`);
  await build({ configFile, logLevel: 'warn' });
  server = await preview({ configFile, logLevel: 'warn', preview: { host: '127.0.0.1', port: 0, strictPort: false } });
  base = server.resolvedUrls!.local[0]!;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

interface BarData {
  title: string;
  worker: string;
  start: number;
  end: number;
}

async function openPage(query: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1120, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${base}?${query}`);
  await page.waitForSelector('#isolation');
  return { page, errors };
}

async function playAndRead(
  page: Page,
  playlist: string,
  mode: string,
): Promise<{ bars: BarData[]; elapsed: number; longest: number; sum: number; lanes: number }> {
  await page.selectOption('#playlist', playlist);
  await page.selectOption('#mode', mode);
  await page.click('#play');
  await page.waitForSelector('#player[data-state="playing"] .bar.playing', { timeout: 20_000 });
  await page.waitForSelector('#player[data-state="done"]', { timeout: 60_000 });
  return page.evaluate(() => {
    // Runs in the page (this file is type-checked without DOM types).
    type Element = { dataset: Record<string, string | undefined> };
    const document = (
      globalThis as unknown as { document: { querySelectorAll(s: string): Iterable<Element> & { length: number }; getElementById(id: string): Element | null } }
    ).document;
    const bars = [...document.querySelectorAll('#timeline .bar')].map((el) => ({
      title: el.dataset.title!,
      worker: el.dataset.worker!,
      start: Number(el.dataset.start),
      end: Number(el.dataset.end),
    }));
    const total = document.getElementById('total')!.dataset;
    return {
      bars,
      elapsed: Number(total.elapsed),
      longest: Number(total.longest),
      sum: Number(total.sum),
      lanes: document.querySelectorAll('#timeline .lane').length,
    };
  });
}

const overlaps = (a: BarData, b: BarData): boolean => a.start < b.end && b.start < a.end;

describe('the demo page, built with Vite, in headless Chromium', () => {
  it('cross-origin isolated: plays the seed playlist on threads (players that meet at a start line, so their bars overlap), runs E7 and E8, and is saved as a screenshot', async () => {
    const { page, errors } = await openPage('scale=200');
    expect(await page.getAttribute('#isolation', 'data-isolated')).toBe('true');
    expect(await page.getAttribute('#transport', 'data-transport')).toBe('shared');

    const { bars, elapsed, longest, lanes } = await playAndRead(page, 'E4', 'threads');
    expect(bars.map((b) => b.title)).toEqual(['歌曲1', '视频2', '歌曲3']);
    expect(new Set(bars.map((b) => b.worker)).size).toBe(3);
    expect(lanes).toBe(3);
    // The players meet at a start line before they play, and a bar begins where its player arrived
    // there: every bar holds the moment the line opened, however long the workers took to start.
    expect(await page.textContent('#total')).toMatch(/the players met at a start line/);
    for (const a of bars) for (const b of bars) expect(overlaps(a, b), `${a.title} and ${b.title} overlap: ${JSON.stringify(bars)}`).toBe(true);
    // Each bar lasts at least its track; the whole play at least the longest (how close it comes is timing, not checked).
    for (const b of bars) expect(b.end - b.start).toBeGreaterThanOrEqual(b.title === '歌曲3' ? longest * 0.95 : ((longest * 3) / 4) * 0.95);
    expect(elapsed).toBeGreaterThanOrEqual(longest * 0.95);

    await page.selectOption('#e7-kind', 'processes');
    await page.click('#e7-run');
    await page.waitForSelector('#e7[data-state="done"]', { timeout: 30_000 });
    expect(await page.textContent('#e7-check')).toMatch(/proc2 received 'hello', proc1 received 'hello, too'/);
    expect(await page.textContent('#e7-log')).toMatch(/send\("hello"\)[\s\S]*recv\(\) → "hello"[\s\S]*send\("hello, too"\)[\s\S]*recv\(\) → "hello, too"/);

    await page.selectOption('#e8-kind', 'processes');
    await page.click('#e8-run');
    await page.waitForSelector('#e8[data-state="done"]', { timeout: 60_000 });
    expect(await page.textContent('#e8-check')).toMatch(/10 items put, 10 got, each exactly once/);
    expect(((await page.textContent('#e8-log')) ?? '').match(/\bgot\b/g)).toHaveLength(10);

    expect(errors).toEqual([]);
    mkdirSync(results, { recursive: true });
    await page.screenshot({ path: `${results}page.png`, fullPage: true });
    await page.close();
  }, 120_000);

  it('not isolated: the message transport serves the page; sequential play draws one lane whose bars follow each other', async () => {
    const { page, errors } = await openPage('isolated=0&scale=100');
    expect(await page.getAttribute('#isolation', 'data-isolated')).toBe('false');
    expect(await page.getAttribute('#transport', 'data-transport')).toBe('message');
    expect(await page.evaluate(() => typeof SharedArrayBuffer)).toBe('undefined');

    const { bars, elapsed, sum, lanes } = await playAndRead(page, 'E3', 'sequential');
    expect(lanes).toBe(1);
    expect(bars).toHaveLength(2);
    expect(bars[1]!.start).toBeGreaterThanOrEqual(bars[0]!.end);
    expect(elapsed).toBeGreaterThanOrEqual(sum * 0.95);

    await page.selectOption('#e8-kind', 'threads');
    await page.click('#e8-run');
    await page.waitForSelector('#e8[data-state="done"]', { timeout: 60_000 });
    expect(await page.textContent('#e8-check')).toMatch(/10 items put, 10 got, each exactly once/);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);
});
