import { describe, expect, it } from 'vitest';
import { isCancelled, presentError, toAppError } from './errors';
import type { ErrorCode } from './types';

describe('toAppError', () => {
  it('keeps an AppError as it is', () => {
    expect(toAppError({ code: 'notFound', message: 'no builder "x"', extra: 1 })).toEqual({ code: 'notFound', message: 'no builder "x"' });
  });
  it('wraps strings and Errors as internal', () => {
    expect(toAppError('command list_builders not found')).toEqual({ code: 'internal', message: 'command list_builders not found' });
    expect(toAppError(new TypeError('x is undefined'))).toEqual({ code: 'internal', message: 'x is undefined' });
  });
  it('does not trust an unknown code', () => {
    expect(toAppError({ code: 'weird', message: 'm' })).toEqual({ code: 'internal', message: 'm' });
  });
  it('knows every code of the generated union, and nothing an object merely inherits', () => {
    // The compiler checks this literal against the generated ErrorCode: a new code fails here first.
    const every: Record<ErrorCode, true> = {
      invalidInput: true,
      notFound: true,
      alreadyExists: true,
      engineUnreachable: true,
      storeLocked: true,
      storeCorrupt: true,
      imageUnavailable: true,
      bootFailed: true,
      cancelled: true,
      internal: true,
      authRequired: true,
      forbidden: true,
      rateLimited: true,
      digestMismatch: true,
      malformed: true,
      registryUnreachable: true,
    };
    for (const code of Object.keys(every)) {
      expect(toAppError({ code, message: 'm' }).code).toBe(code);
    }
    for (const code of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) {
      expect(toAppError({ code, message: 'm' }).code).toBe('internal');
    }
  });
  it('always produces a message', () => {
    expect(toAppError(undefined).message).toBe('unexpected error');
    expect(toAppError(42).message).toBe('unexpected error: 42');
    expect(toAppError({}).message).toBe('unexpected error: [object Object]');
  });
});

describe('presentError', () => {
  it('shows the core message with a hint and retry where it helps', () => {
    expect(presentError({ code: 'engineUnreachable', message: 'engine at x unreachable' })).toEqual({
      tone: 'error',
      message: 'engine at x unreachable',
      hint: 'Start Docker, or pick another context.',
      retry: true,
    });
    expect(presentError({ code: 'storeLocked', message: 'm' }).retry).toBe(true);
  });
  it('offers no retry for mistakes that need a change first', () => {
    for (const code of ['invalidInput', 'alreadyExists', 'notFound'] as const) {
      expect(presentError({ code, message: 'm' }).retry).toBe(false);
    }
    expect(presentError({ code: 'invalidInput', message: 'm' }).hint).toBeNull();
  });
  it('treats a cancellation as information', () => {
    const c = { code: 'cancelled' as const, message: 'boot was cancelled' };
    expect(isCancelled(c)).toBe(true);
    expect(presentError(c).tone).toBe('info');
    expect(isCancelled({ code: 'internal', message: '' })).toBe(false);
  });
});

describe('registry error codes', () => {
  it('keeps the core code and offers retry where waiting or logging in can help', () => {
    const limited = toAppError({ code: 'rateLimited', message: 'registry r is rate limiting requests (429): retry after 7 s' });
    expect(limited.code).toBe('rateLimited');
    expect(presentError(limited).retry).toBe(true);
    const mismatch = presentError({ code: 'digestMismatch', message: 'refused manifest' });
    expect(mismatch.retry).toBe(false);
    expect(mismatch.hint).toContain('do not trust');
  });
});
