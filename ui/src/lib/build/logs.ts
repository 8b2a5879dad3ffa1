// Per-step log buffers, appended from LogChunks as they arrive. Each step keeps at most
// `maxLines` lines (the oldest go first and are counted), so a RUN printing 100k lines costs a
// bounded amount of memory; readers ask for a window of lines, never the whole log.
import type { LogChunk } from '../types';

/** Lines kept per step in the window; the core keeps the full log with the build record. */
export const MAX_LINES = 20_000;

export interface LogLine {
  /** 1-based number of the line in the step's whole output (dropped lines included). */
  n: number;
  text: string;
  /** 2 for stderr. */
  stream: number;
}

class StepLog {
  lines: string[] = [];
  streams: number[] = [];
  /** The unterminated tail of the last chunk, shown as the last line. */
  partial = '';
  partialStream = 1;
  dropped = 0;
}

export class LogStore {
  #steps = new Map<string, StepLog>();
  #max: number;
  /** Bumped on every append, for views that redraw on change. */
  version = 0;

  constructor(maxLines = MAX_LINES) {
    this.#max = maxLines;
  }

  append(chunks: readonly LogChunk[]): void {
    if (chunks.length === 0) return;
    const touched = new Set<StepLog>();
    for (const c of chunks) {
      let log = this.#steps.get(c.step);
      if (!log) {
        log = new StepLog();
        this.#steps.set(c.step, log);
      }
      const parts = c.text.replace(/\r\n/g, '\n').split('\n');
      parts[0] = log.partial + parts[0];
      log.partial = parts.pop()!;
      log.partialStream = c.stream;
      for (const p of parts) {
        log.lines.push(p);
        log.streams.push(c.stream);
      }
      touched.add(log);
    }
    for (const log of touched) {
      const over = log.lines.length - this.#max;
      if (over > 0) {
        // Trim in batches so a chatty step does not shift its array on every line.
        const cut = Math.max(over, Math.floor(this.#max / 10));
        log.lines.splice(0, cut);
        log.streams.splice(0, cut);
        log.dropped += cut;
      }
    }
    this.version++;
  }

  clear(): void {
    this.#steps.clear();
    this.version++;
  }

  has(step: string): boolean {
    return this.lineCount(step) > 0;
  }

  /** Lines held for the step (including an unterminated last one). */
  lineCount(step: string): number {
    const log = this.#steps.get(step);
    if (!log) return 0;
    return log.lines.length + (log.partial === '' ? 0 : 1);
  }

  /** Lines of the step's output no longer held. */
  dropped(step: string): number {
    return this.#steps.get(step)?.dropped ?? 0;
  }

  /** Held lines `from` (0-based, inclusive) to `to` (exclusive). */
  slice(step: string, from: number, to: number): LogLine[] {
    const log = this.#steps.get(step);
    if (!log) return [];
    const count = this.lineCount(step);
    const out: LogLine[] = [];
    for (let i = Math.max(0, from); i < Math.min(count, to); i++) {
      const isPartial = i === log.lines.length;
      out.push({
        n: log.dropped + i + 1,
        text: isPartial ? log.partial : log.lines[i],
        stream: isPartial ? log.partialStream : log.streams[i],
      });
    }
    return out;
  }

  /** The last `n` lines' text. */
  tail(step: string, n: number): string[] {
    const count = this.lineCount(step);
    return this.slice(step, count - n, count).map((l) => l.text);
  }

  /** Indexes (for `slice`) of the held lines containing `query`, case-insensitively; all lines when it is blank. */
  search(step: string, query: string): number[] {
    const log = this.#steps.get(step);
    if (!log) return [];
    const q = query.trim().toLowerCase();
    const count = this.lineCount(step);
    const out: number[] = [];
    for (let i = 0; i < count; i++) {
      const text = i === log.lines.length ? log.partial : log.lines[i];
      if (q === '' || text.toLowerCase().includes(q)) out.push(i);
    }
    return out;
  }

  /** The held lines at the given indexes. */
  pick(step: string, indexes: readonly number[]): LogLine[] {
    const out: LogLine[] = [];
    for (const i of indexes) out.push(...this.slice(step, i, i + 1));
    return out;
  }
}

/** Splits `text` around case-insensitive matches of `query`, for highlighting. */
export function highlight(text: string, query: string): Array<{ text: string; match: boolean }> {
  const q = query.trim().toLowerCase();
  if (q === '') return [{ text, match: false }];
  const lower = text.toLowerCase();
  const out: Array<{ text: string; match: boolean }> = [];
  let at = 0;
  for (let i = lower.indexOf(q); i !== -1; i = lower.indexOf(q, i + q.length)) {
    if (i > at) out.push({ text: text.slice(at, i), match: false });
    out.push({ text: text.slice(i, i + q.length), match: true });
    at = i + q.length;
  }
  if (at < text.length) out.push({ text: text.slice(at), match: false });
  return out;
}

/** The visible window of a virtualised list of fixed-height rows, with a few rows of overscan. */
export function visibleRange(
  scrollTop: number,
  viewport: number,
  rowHeight: number,
  count: number,
  overscan = 10,
): { from: number; to: number } {
  const from = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const to = Math.min(count, Math.ceil((scrollTop + viewport) / rowHeight) + overscan);
  return { from, to: Math.max(from, to) };
}

/** The scroll offset that shows the last rows of a list of `count` rows: where a following view sits. */
export function tailTop(count: number, viewport: number, rowHeight: number): number {
  return Math.max(0, count * rowHeight - viewport);
}

/** Whether a view scrolled to `scrollTop` shows the list's last row (within one row), so it should keep following. */
export function atTail(scrollTop: number, viewport: number, count: number, rowHeight: number): boolean {
  return scrollTop + viewport >= count * rowHeight - rowHeight;
}
