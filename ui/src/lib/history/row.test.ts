import { describe, expect, it } from 'vitest';
import { entryMeta, rowMeta } from './row';
import { entry } from './testEntries';

describe('a build row’s line', () => {
  it('joins what is known, leaving out the blanks', () => {
    expect(rowMeta(['2 min ago', null, '', '1.2s', undefined])).toBe('2 min ago · 1.2s');
    expect(rowMeta([])).toBe('');
  });

  it('says when a record started, how long it ran or that it runs, and its steps', () => {
    const now = new Date('2026-01-01T00:10:00Z');
    const done = entry('r1', { createdAt: '2026-01-01T00:08:00Z', durationMs: 1500, stepsTotal: 4, stepsCompleted: 4, stepsCached: 1 });
    expect(entryMeta(done, now)).toBe('2 min ago · 1.5s · 4/4 steps · 25% cached');
    const running = entry('r2', { createdAt: '2026-01-01T00:10:00Z', status: 'running', durationMs: null, stepsTotal: 0 });
    expect(entryMeta(running, now)).toMatch(/running$/);
  });
});
