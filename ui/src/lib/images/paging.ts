// Catalog and tag lists: pages appended as they arrive (`Page.next` is the `last` of the next
// request), a filter over what has arrived, and the window of rows a virtual list renders so that
// 2,000 repositories never become 2,000 DOM rows.
import type { Page } from '../types';

export interface Pages {
  items: string[];
  /** What to pass as `last` for the next page; null once the list is complete. */
  next: string | null;
  /** Whether the last page has arrived. */
  complete: boolean;
  /** Pages fetched so far. */
  pages: number;
}

export function noPages(): Pages {
  return { items: [], next: null, complete: false, pages: 0 };
}

/** The list after one more page; repeats (a registry re-sending its boundary item) are dropped. */
export function appendPage(state: Pages, page: Page): Pages {
  const seen = new Set(state.items);
  const fresh = page.items.filter((item) => {
    if (seen.has(item)) return false;
    seen.add(item);
    return true;
  });
  // A page that adds nothing cannot lead anywhere new: stop instead of asking forever.
  const stalled = state.pages > 0 && fresh.length === 0;
  const complete = page.next === null || stalled;
  return { items: [...state.items, ...fresh], next: complete ? null : page.next, complete, pages: state.pages + 1 };
}

/** Items containing every word of the filter, case-insensitively; all of them for an empty filter. */
export function filterItems(items: readonly string[], filter: string): string[] {
  const words = filter.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return [...items];
  return items.filter((item) => {
    const lower = item.toLowerCase();
    return words.every((w) => lower.includes(w));
  });
}

export interface RowWindow {
  /** First row rendered. */
  start: number;
  /** One past the last row rendered. */
  end: number;
  /** Empty space above and below the rendered rows, in pixels. */
  before: number;
  after: number;
}

/** The rows a list of `count` fixed-height rows renders when scrolled to `scrollTop`, with `overscan` spare rows each side. */
export function rowWindow(scrollTop: number, viewport: number, rowHeight: number, count: number, overscan = 8): RowWindow {
  if (count <= 0 || rowHeight <= 0) return { start: 0, end: 0, before: 0, after: 0 };
  const first = Math.floor(Math.max(0, scrollTop) / rowHeight);
  const shown = Math.ceil(Math.max(viewport, rowHeight) / rowHeight) + 1;
  const start = Math.max(0, Math.min(count - 1, first) - overscan);
  const end = Math.min(count, first + shown + overscan);
  return { start, end, before: start * rowHeight, after: (count - end) * rowHeight };
}

/**
 * Whether to fetch another page: the list is not complete, nothing is loading, and either the
 * rendered window comes near the end, or a filter leaves fewer matches than fill the view.
 */
export function wantsMore(
  state: Pages,
  loading: boolean,
  failed: boolean,
  windowEnd: number,
  shownCount: number,
  filtering: boolean,
  fill = 40,
): boolean {
  if (state.complete || loading || failed || state.pages === 0) return false;
  if (filtering) return shownCount < fill || windowEnd >= shownCount - 10;
  return windowEnd >= shownCount - 20;
}
