import { describe, expect, it } from 'vitest';
import { displayWidth, renderTimeline } from '../src/index.js';

describe('renderTimeline()', () => {
  it('draws a staircase for sequential play and a stack for concurrent play', () => {
    const seq = renderTimeline(
      {
        mode: 'sequential',
        elapsed: 1000,
        timeline: [
          { title: 'music', worker: 'main', start: 0, end: 400 },
          { title: 'movie', worker: 'main', start: 400, end: 1000 },
        ],
      },
      { width: 10, unitMs: 100 },
    ).split('\n');
    expect(seq[1]).toContain('│████      │');
    expect(seq[2]).toContain('│    ██████│');
    expect(seq[3]).toBe('sequential: total 10.0s (sum of tracks 10.0s, longest track 6.00s)');

    const par = renderTimeline(
      {
        mode: 'threads',
        elapsed: 600,
        timeline: [
          { title: '歌曲1', worker: 'Thread-1', start: 0, end: 600 },
          { title: '视频2', worker: 'Thread-2', start: 0, end: 300, error: new Error('boom') },
        ],
      },
      { width: 10, unitMs: 100 },
    ).split('\n');
    expect(par[1]).toContain('│██████████│');
    expect(par[2]).toContain('│×××××     │  failed: boom');
  });

  it('measures East Asian titles as two columns each', () => {
    expect(displayWidth('歌曲1')).toBe(5);
    expect(displayWidth('abc')).toBe(3);
  });
});
