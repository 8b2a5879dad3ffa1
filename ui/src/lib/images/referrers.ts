// OCI referrers (artifacts whose `subject` is this manifest or one of its platforms) as links: each
// opens its own manifest by digest in the same repository. And, for an opened artifact, what it is
// and what it refers to, read from its manifest's own bytes (`artifactType`, `subject`).
import { formatBytes, mediaTypeLabel, shortDigest } from './format';
import type { Inspection } from '../types';

/** `registry/repository@digest`: a manifest of the inspected repository, by digest. */
export function byDigest(inspection: Inspection, digest: string): string {
  return `${inspection.reference.registry}/${inspection.reference.repository}@${digest}`;
}

export interface ReferrerRow {
  key: string;
  digest: string;
  shortDigest: string;
  /** What the link opens. */
  reference: string;
  /** The artifact type; a referrer without one shows its media type. */
  artifactType: string;
  mediaType: string;
  /** What it refers to: "this index", "this image" or a platform of the index. */
  subject: string;
  sizeLabel: string;
  /** Its `org.opencontainers.image.created` annotation, when it has one. */
  created: string | null;
}

/** The referrers of the manifest shown, then those of each platform, in the registry's order. */
export function referrerRows(inspection: Inspection): ReferrerRow[] {
  const own = inspection.kind === 'index' ? 'this index' : 'this image';
  const groups = [
    { subject: own, referrers: inspection.referrers },
    ...inspection.platforms.map((p) => ({ subject: p.platform, referrers: p.referrers })),
  ];
  return groups.flatMap(({ subject, referrers }) =>
    referrers.map((r) => ({
      key: `${subject}|${r.digest}`,
      digest: r.digest,
      shortDigest: shortDigest(r.digest),
      reference: byDigest(inspection, r.digest),
      artifactType: r.artifactType || mediaTypeLabel(r.mediaType),
      mediaType: r.mediaType,
      subject,
      sizeLabel: formatBytes(r.size),
      created: r.annotations['org.opencontainers.image.created'] ?? null,
    })),
  );
}

export interface ArtifactFacts {
  /** The manifest's `artifactType`, else its config's media type when that is not an image config. */
  artifactType: string | null;
  /** The digest of the manifest it refers to, and that manifest's reference (to open it). */
  subject: string | null;
  subjectReference: string | null;
}

const IMAGE_CONFIGS = new Set(['application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json', 'application/vnd.oci.empty.v1+json']);

interface ManifestShape {
  artifactType?: unknown;
  config?: { mediaType?: unknown };
  subject?: { digest?: unknown };
}

/** What an opened artifact is and what it refers to; null for a plain image or index. */
export function artifactFacts(inspection: Inspection): ArtifactFacts | null {
  if (inspection.kind !== 'image' && inspection.kind !== 'index') return null;
  let doc: ManifestShape;
  try {
    doc = JSON.parse(inspection.raw) as ManifestShape;
  } catch {
    return null;
  }
  if (!doc || typeof doc !== 'object') return null;
  const configType = typeof doc.config?.mediaType === 'string' ? doc.config.mediaType : null;
  const artifactType =
    typeof doc.artifactType === 'string' && doc.artifactType ? doc.artifactType : configType && !IMAGE_CONFIGS.has(configType) ? configType : null;
  const subject = typeof doc.subject?.digest === 'string' ? doc.subject.digest : null;
  if (!artifactType && !subject) return null;
  return { artifactType, subject, subjectReference: subject ? byDigest(inspection, subject) : null };
}
