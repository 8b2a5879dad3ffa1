import { describe, expect, it } from 'vitest';
import { Latest } from './latest';

describe('only the newest answer counts', () => {
  it('keeps a lone request fresh', () => {
    const latest = new Latest();
    const fresh = latest.begin();
    expect(fresh()).toBe(true);
    expect(fresh()).toBe(true);
  });

  it('makes a request stale once a later one begins', () => {
    const latest = new Latest();
    const first = latest.begin();
    const second = latest.begin();
    expect(first()).toBe(false);
    expect(second()).toBe(true);
  });

  it('makes every request stale on drop, and the next one fresh', () => {
    const latest = new Latest();
    const first = latest.begin();
    latest.drop();
    expect(first()).toBe(false);
    expect(latest.begin()()).toBe(true);
    expect(first()).toBe(false);
  });

  it('keeps separate kinds of request apart', () => {
    const lists = new Latest();
    const outlines = new Latest();
    const list = lists.begin();
    outlines.begin();
    expect(list()).toBe(true);
  });

  it('drops an earlier answer that arrives after a later one', async () => {
    const latest = new Latest();
    let shown = '';
    const answer = async (text: string, wait: number) => {
      const fresh = latest.begin();
      await new Promise((resolve) => setTimeout(resolve, wait));
      if (fresh()) shown = text;
    };
    await Promise.all([answer('slow, asked first', 20), answer('fast, asked last', 1)]);
    expect(shown).toBe('fast, asked last');
  });
});
