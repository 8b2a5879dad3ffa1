import { describe, expect, it, vi } from 'vitest';
import { imagesHash, isImagesHash, openImage, referenceFromHash, REOPEN_EVENT } from './route';

describe('images route', () => {
  it('puts the reference in the hash and reads it back', () => {
    const ref = '127.0.0.1:5055/e2e/images-view:42@sha256:abc';
    const hash = imagesHash(ref);
    expect(hash.startsWith('#images?ref=')).toBe(true);
    expect(referenceFromHash(hash)).toBe(ref);
    expect(imagesHash()).toBe('#images');
    expect(imagesHash('  ')).toBe('#images');
  });
  it('tells the images view from others', () => {
    expect(isImagesHash('#images')).toBe(true);
    expect(isImagesHash('#images?ref=a')).toBe(true);
    expect(isImagesHash('#imagesx')).toBe(false);
    expect(isImagesHash('#build')).toBe(false);
    expect(referenceFromHash('#images')).toBeNull();
    expect(referenceFromHash('#build?ref=a')).toBeNull();
  });
  it('openImage navigates, or asks to reopen when the hash already names the reference', () => {
    const where = { location: { hash: '#build' }, dispatchEvent: vi.fn(() => true) };
    openImage('alpine', where);
    expect(where.location.hash).toBe('#images?ref=alpine');
    expect(where.dispatchEvent).not.toHaveBeenCalled();
    openImage('alpine', where);
    expect(where.dispatchEvent).toHaveBeenCalledOnce();
    expect((where.dispatchEvent.mock.calls[0] as unknown as [Event])[0].type).toBe(REOPEN_EVENT);
  });
});
