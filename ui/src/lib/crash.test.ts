import { describe, expect, it } from 'vitest';
import { listenForUncaught } from './crash';
import type { AppError } from './types';

/** An event as the window dispatches it, with the fields its kind carries. */
function event(type: string, fields: Record<string, unknown>): Event {
  return Object.assign(new Event(type), fields);
}

describe('errors nothing else caught', () => {
  it('reports an exception thrown in an event handler, and a promise nobody awaited, with their messages', () => {
    const window = new EventTarget();
    const seen: AppError[] = [];
    const stop = listenForUncaught(window, (e) => seen.push(e));

    window.dispatchEvent(event('error', { error: new TypeError("Cannot read properties of null (reading 'platforms')"), message: 'Uncaught TypeError' }));
    window.dispatchEvent(event('unhandledrejection', { reason: { code: 'engineUnreachable', message: 'no engine at unix:///x.sock' } }));
    window.dispatchEvent(event('error', { error: null, message: 'Script error.' }));
    expect(seen).toEqual([
      { code: 'internal', message: "Cannot read properties of null (reading 'platforms')" },
      { code: 'engineUnreachable', message: 'no engine at unix:///x.sock' },
      { code: 'internal', message: 'Script error.' },
    ]);

    stop();
    window.dispatchEvent(event('unhandledrejection', { reason: new Error('after') }));
    expect(seen).toHaveLength(3);
  });
});
