import { describe, expect, it } from 'vitest';
import { appendPage, filterItems, noPages, rowWindow, wantsMore } from './paging';

describe('appendPage', () => {
  it('appends pages and remembers where the next one starts', () => {
    let s = appendPage(noPages(), { items: ['a', 'b'], next: 'b' });
    expect(s).toEqual({ items: ['a', 'b'], next: 'b', complete: false, pages: 1 });
    s = appendPage(s, { items: ['c'], next: null });
    expect(s).toEqual({ items: ['a', 'b', 'c'], next: null, complete: true, pages: 2 });
  });

  it('drops a repeated boundary item', () => {
    const s = appendPage(appendPage(noPages(), { items: ['a', 'b'], next: 'b' }), { items: ['b', 'c'], next: 'c' });
    expect(s.items).toEqual(['a', 'b', 'c']);
    expect(s.complete).toBe(false);
  });

  it('stops when a page brings nothing new rather than asking forever', () => {
    const s = appendPage(appendPage(noPages(), { items: ['a'], next: 'a' }), { items: ['a'], next: 'a' });
    expect(s.complete).toBe(true);
    expect(s.next).toBeNull();
  });

  it('an empty first page is a complete, empty list', () => {
    expect(appendPage(noPages(), { items: [], next: null })).toEqual({ items: [], next: null, complete: true, pages: 1 });
  });
});

describe('filterItems', () => {
  const items = ['busybox', 'e2e/images-view', 'e2e/build-view', 'library/Alpine'];
  it('keeps everything for an empty filter', () => {
    expect(filterItems(items, '  ')).toEqual(items);
  });
  it('matches every word, ignoring case', () => {
    expect(filterItems(items, 'E2E view')).toEqual(['e2e/images-view', 'e2e/build-view']);
    expect(filterItems(items, 'images e2e')).toEqual(['e2e/images-view']);
    expect(filterItems(items, 'alpine')).toEqual(['library/Alpine']);
    expect(filterItems(items, 'nothing')).toEqual([]);
  });
});

describe('rowWindow', () => {
  it('renders only the rows in view plus a margin', () => {
    const w = rowWindow(0, 260, 26, 2000, 5);
    expect(w.start).toBe(0);
    expect(w.end).toBe(16);
    expect(w.before).toBe(0);
    expect(w.after).toBe((2000 - 16) * 26);
  });

  it('follows the scroll position and keeps the total height', () => {
    const w = rowWindow(26 * 1000, 260, 26, 2000, 5);
    expect(w.start).toBe(995);
    expect(w.end).toBe(1016);
    expect(w.before + (w.end - w.start) * 26 + w.after).toBe(2000 * 26);
  });

  it('clamps at the end and for tiny lists', () => {
    const w = rowWindow(999_999, 260, 26, 30, 5);
    expect(w.end).toBe(30);
    expect(w.after).toBe(0);
    expect(rowWindow(0, 260, 26, 3)).toEqual({ start: 0, end: 3, before: 0, after: 0 });
    expect(rowWindow(0, 260, 26, 0)).toEqual({ start: 0, end: 0, before: 0, after: 0 });
  });
  it('never renders more than a screenful and the margins, whatever the count', () => {
    const w = rowWindow(5000, 400, 26, 2000);
    expect(w.end - w.start).toBeLessThanOrEqual(Math.ceil(400 / 26) + 1 + 16);
  });
});

describe('wantsMore', () => {
  const partial = { items: Array.from({ length: 100 }, (_, i) => `r${i}`), next: 'r99', complete: false, pages: 1 };
  it('asks for the next page when the window nears the end', () => {
    expect(wantsMore(partial, false, false, 30, 100, false)).toBe(false);
    expect(wantsMore(partial, false, false, 85, 100, false)).toBe(true);
  });
  it('never while loading, after a failure, before the first page or once complete', () => {
    expect(wantsMore(partial, true, false, 99, 100, false)).toBe(false);
    expect(wantsMore(partial, false, true, 99, 100, false)).toBe(false);
    expect(wantsMore(noPages(), false, false, 0, 0, false)).toBe(false);
    expect(wantsMore({ ...partial, complete: true, next: null }, false, false, 99, 100, false)).toBe(false);
  });
  it('keeps searching later pages while a filter matches too few', () => {
    expect(wantsMore(partial, false, false, 2, 2, true)).toBe(true);
    expect(wantsMore(partial, false, false, 10, 60, true)).toBe(false);
  });
});
