import { describe, expect, it } from 'vitest';
import { COMMON_PLATFORMS, fnv1a, platformColour, platformKey, platformStyle, platformTitle } from './platforms';

describe('platform colours', () => {
  it('gives every common platform its own fixed hue', () => {
    const hues = COMMON_PLATFORMS.map((p) => platformColour(p).hue);
    expect(new Set(hues).size).toBe(COMMON_PLATFORMS.length);
    expect(platformColour('linux/amd64')).toEqual({ hue: 212, saturation: 80 });
    expect(platformColour('linux/arm64').hue).toBe(145);
  });

  it('lists the eight platforms the create form offers', () => {
    expect(COMMON_PLATFORMS).toEqual([
      'linux/amd64',
      'linux/arm64',
      'linux/arm/v7',
      'linux/arm/v6',
      'linux/386',
      'linux/riscv64',
      'linux/ppc64le',
      'linux/s390x',
    ]);
  });

  it('keeps known hues far enough apart to tell chips apart', () => {
    const hues = COMMON_PLATFORMS.map((p) => platformColour(p).hue);
    for (let i = 0; i < hues.length; i++) {
      for (let j = i + 1; j < hues.length; j++) {
        const d = Math.abs(hues[i] - hues[j]);
        expect(Math.min(d, 360 - d)).toBeGreaterThanOrEqual(20);
      }
    }
  });

  it('folds variants of the same architecture together', () => {
    expect(platformKey('linux/arm64/v8')).toBe('linux/arm64');
    expect(platformKey('Linux/AMD64/v3')).toBe('linux/amd64');
    expect(platformKey(' linux/arm/v7 ')).toBe('linux/arm/v7');
    expect(platformColour('linux/arm64/v8')).toEqual(platformColour('linux/arm64'));
  });

  it('hashes other platforms to a stable colour', () => {
    const a = platformColour('windows/amd64');
    expect(platformColour('windows/amd64')).toEqual(a);
    expect(a.hue).toBeGreaterThanOrEqual(0);
    expect(a.hue).toBeLessThan(360);
    expect(a.saturation).toBeGreaterThanOrEqual(35);
    expect(a.saturation).toBeLessThan(65);
    expect(platformColour('linux/mips64le')).not.toEqual(platformColour('linux/loong64'));
  });

  it('uses FNV-1a', () => {
    expect(fnv1a('')).toBe(0x811c9dc5);
    expect(fnv1a('a')).toBe(0xe40c292c);
  });

  it('renders CSS custom properties and a tooltip', () => {
    expect(platformStyle('linux/amd64')).toBe('--platform-h: 212; --platform-s: 80%');
    expect(platformTitle('linux/arm/v7', true, true)).toBe('linux/arm/v7 — pinned with --platform, emulated (QEMU)');
    expect(platformTitle('linux/amd64', false, false)).toBe('linux/amd64');
  });
});
