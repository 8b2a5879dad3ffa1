// How digests, media types and sizes read in the Images view.
import { formatBytes } from '../progress';

export { formatBytes };

/** `sha256:` and the first 12 hex digits, as docker prints image ids. */
export function shortDigest(digest: string): string {
  const [algorithm, hex] = digest.includes(':') ? digest.split(':', 2) : ['', digest];
  const short = hex.slice(0, 12);
  return algorithm ? `${algorithm}:${short}` : short;
}

const MEDIA_TYPES: Record<string, string> = {
  'application/vnd.oci.image.index.v1+json': 'OCI index',
  'application/vnd.oci.image.manifest.v1+json': 'OCI manifest',
  'application/vnd.docker.distribution.manifest.list.v2+json': 'Docker manifest list',
  'application/vnd.docker.distribution.manifest.v2+json': 'Docker manifest v2',
  'application/vnd.docker.distribution.manifest.v1+json': 'Docker schema 1',
  'application/vnd.docker.distribution.manifest.v1+prettyjws': 'Docker schema 1 (signed)',
  'application/vnd.oci.image.layer.v1.tar+gzip': 'tar+gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd': 'tar+zstd',
  'application/vnd.oci.image.layer.v1.tar': 'tar',
  'application/vnd.docker.image.rootfs.diff.tar.gzip': 'tar+gzip (docker)',
  'application/vnd.in-toto+json': 'in-toto',
};

/** A short name for a media type; the full type goes in the title. */
export function mediaTypeLabel(mediaType: string): string {
  return MEDIA_TYPES[mediaType] ?? mediaType;
}

/** A size difference with its sign: "+1.2 MB", "−300 B", "±0 B". */
export function signedBytes(n: number): string {
  if (n === 0) return '±0 B';
  return (n > 0 ? '+' : '−') + formatBytes(Math.abs(n));
}

/** A bar's width for `value` out of `max`, 0–1; anything above zero stays visible. */
export function barFraction(value: number, max: number): number {
  if (!(max > 0) || !(value > 0)) return 0;
  return Math.min(1, Math.max(0.015, value / max));
}

/** "2026-01-02T03:04:05.123Z" → "2026-01-02 03:04:05 UTC"; anything else as given. */
export function formatCreated(created: string | null): string {
  if (!created) return '';
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?(Z|[+-]\d{2}:\d{2})$/.exec(created);
  if (!m) return created;
  return `${m[1]} ${m[2]} ${m[3] === 'Z' ? 'UTC' : m[3]}`;
}
