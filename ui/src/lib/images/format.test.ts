import { describe, expect, it } from 'vitest';
import { barFraction, formatBytes, formatCreated, mediaTypeLabel, shortDigest, signedBytes } from './format';

describe('format', () => {
  it('shortens digests as docker prints ids', () => {
    expect(shortDigest('sha256:0123456789abcdef0123')).toBe('sha256:0123456789ab');
    expect(shortDigest('0123456789abcdef')).toBe('0123456789ab');
  });
  it('names the known media types and passes others through', () => {
    expect(mediaTypeLabel('application/vnd.oci.image.index.v1+json')).toBe('OCI index');
    expect(mediaTypeLabel('application/vnd.docker.distribution.manifest.v2+json')).toBe('Docker manifest v2');
    expect(mediaTypeLabel('application/x-custom')).toBe('application/x-custom');
  });
  it('writes sizes in decimal units with a sign for differences', () => {
    expect(formatBytes(2_345_678)).toBe('2.3 MB');
    expect(signedBytes(1500)).toBe('+1.5 kB');
    expect(signedBytes(-300)).toBe('−300 B');
    expect(signedBytes(0)).toBe('±0 B');
  });
  it('scales bars to the largest and keeps small non-zero ones visible', () => {
    expect(barFraction(50, 100)).toBe(0.5);
    expect(barFraction(1, 1_000_000)).toBe(0.015);
    expect(barFraction(0, 100)).toBe(0);
    expect(barFraction(10, 0)).toBe(0);
    expect(barFraction(200, 100)).toBe(1);
  });
  it('reads RFC 3339 times without the fraction', () => {
    expect(formatCreated('2026-03-01T10:20:30.123456Z')).toBe('2026-03-01 10:20:30 UTC');
    expect(formatCreated('2026-03-01T10:20:30+02:00')).toBe('2026-03-01 10:20:30 +02:00');
    expect(formatCreated('yesterday')).toBe('yesterday');
    expect(formatCreated(null)).toBe('');
  });
});
