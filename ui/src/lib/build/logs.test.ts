import { describe, expect, it } from 'vitest';
import { atTail, highlight, LogStore, tailTop, visibleRange } from './logs';

const chunk = (step: string, text: string, stream = 1) => ({ step, stream, text });

describe('LogStore', () => {
  it('joins lines split across chunks and keeps an unterminated last line', () => {
    const logs = new LogStore();
    logs.append([chunk('s', 'hel'), chunk('s', 'lo\nwor'), chunk('t', 'other\n')]);
    expect(logs.lineCount('s')).toBe(2);
    expect(logs.slice('s', 0, 10).map((l) => l.text)).toEqual(['hello', 'wor']);
    logs.append([chunk('s', 'ld\r\n', 2)]);
    expect(logs.slice('s', 0, 10)).toEqual([
      { n: 1, text: 'hello', stream: 1 },
      { n: 2, text: 'world', stream: 2 },
    ]);
    expect(logs.tail('t', 5)).toEqual(['other']);
    expect(logs.has('nothing')).toBe(false);
  });

  it('holds a bounded window of a chatty step and numbers lines by the whole output', () => {
    const logs = new LogStore(1000);
    let text = '';
    for (let i = 1; i <= 100_000; i++) text += `line ${i}\n`;
    // Arrives as coalesced updates of a few thousand lines each.
    for (let at = 0; at < text.length; at += 50_000) logs.append([chunk('run', text.slice(at, at + 50_000))]);
    expect(logs.lineCount('run')).toBeLessThanOrEqual(1000);
    expect(logs.dropped('run') + logs.lineCount('run')).toBe(100_000);
    expect(logs.tail('run', 1)).toEqual(['line 100000']);
    const [first] = logs.slice('run', 0, 1);
    expect(first.text).toBe(`line ${first.n}`);
  });

  it('searches case-insensitively and returns every line for a blank query', () => {
    const logs = new LogStore();
    logs.append([chunk('s', 'Fetching\nERROR: boom\nerror again\nok')]);
    expect(logs.search('s', 'error')).toEqual([1, 2]);
    expect(logs.search('s', '  ')).toEqual([0, 1, 2, 3]);
    expect(logs.pick('s', [2]).map((l) => [l.n, l.text])).toEqual([[3, 'error again']]);
    expect(logs.search('missing', 'x')).toEqual([]);
  });

  it('counts changes so views know when to redraw', () => {
    const logs = new LogStore();
    const v = logs.version;
    logs.append([]);
    expect(logs.version).toBe(v);
    logs.append([chunk('s', 'x')]);
    expect(logs.version).toBe(v + 1);
  });
});

describe('log view helpers', () => {
  it('splits text around matches', () => {
    expect(highlight('an Error and an error', 'error')).toEqual([
      { text: 'an ', match: false },
      { text: 'Error', match: true },
      { text: ' and an ', match: false },
      { text: 'error', match: true },
    ]);
    expect(highlight('plain', '')).toEqual([{ text: 'plain', match: false }]);
  });

  it('follows the tail from the row count alone, without asking the page for its layout', () => {
    expect(tailTop(3, 240, 17)).toBe(0);
    expect(tailTop(100_000, 240, 17)).toBe(1_699_760);
    const top = tailTop(100_000, 240, 17);
    expect(visibleRange(top, 240, 17, 100_000)).toEqual({ from: 99_975, to: 100_000 });
    expect(atTail(top, 240, 100_000, 17)).toBe(true);
    expect(atTail(top - 17, 240, 100_000, 17)).toBe(true);
    expect(atTail(top - 18, 240, 100_000, 17)).toBe(false);
    expect(atTail(0, 240, 3, 17)).toBe(true);
  });

  it('renders only the rows in view, with overscan', () => {
    expect(visibleRange(0, 170, 17, 100_000)).toEqual({ from: 0, to: 20 });
    expect(visibleRange(17_000, 170, 17, 100_000)).toEqual({ from: 990, to: 1020 });
    expect(visibleRange(0, 170, 17, 3)).toEqual({ from: 0, to: 3 });
  });
});
