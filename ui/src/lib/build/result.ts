// The result card's image line: the reference this build gave its image, and whether the Images
// view can open it. Only what this build produced: a build that made no image names none.
import type { BuildOutcome, BuildOutput } from '../types';

export interface ResultImage {
  /** `tag@digest` when the digest is known, else the tag. */
  reference: string;
  /** "Image" for a reference pinned by digest, "Tag" otherwise. */
  label: 'Image' | 'Tag';
  /** Pushed, so the Images view (which reads registries) finds this very image. */
  openable: boolean;
}

/** The outputs that give the image a name (the others keep it in the cache or write files). */
const NAMED: Record<BuildOutput['type'], boolean> = {
  push: true,
  image: true,
  load: true,
  oci: true,
  docker: true,
  cacheOnly: false,
  tar: false,
  local: false,
};

/** The tags the build gave its image: none when none of its outputs makes an image. */
export function producedTags(outcome: BuildOutcome, outputs: BuildOutput[]): string[] {
  // Records written before the core named only what the exporter made still carry the form's tags.
  return outputs.some((o) => NAMED[o.type]) ? outcome.tags : [];
}

const LABELS: Record<BuildOutput['type'], string> = {
  cacheOnly: 'build cache only',
  push: 'pushed',
  image: 'kept in the builder',
  load: 'loaded into the engine',
  oci: 'OCI tarball',
  docker: 'Docker tarball',
  tar: 'filesystem tar',
  local: 'folder',
};

/** What an output gave its exporter, as `--output` writes it: `compression=zstd, name=…`. */
export function attrsLabel(attrs: Record<string, string> | undefined): string {
  return Object.entries(attrs ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}

/** Where the build's result went, one entry per output in order (none: build only), with its exporter's attributes. */
export function outputLabels(outputs: BuildOutput[]): string[] {
  const labels = outputs.map((o) => {
    const where = 'dest' in o ? `${LABELS[o.type]} ${o.dest}` : LABELS[o.type];
    const attrs = attrsLabel('attrs' in o ? o.attrs : undefined);
    return attrs ? `${where} (${attrs})` : where;
  });
  return labels.length ? labels : [LABELS.cacheOnly];
}

/**
 * The platforms a pushed index lacks when the build kept going and pushed what succeeded while
 * others failed; empty when the tags hold every platform, or nothing was pushed under them.
 */
export function missingPlatforms(outcome: BuildOutcome): string[] {
  if (outcome.tags.length === 0) return [];
  return outcome.platformResults.filter((r) => r.state !== 'succeeded').map((r) => r.platform);
}

export function resultImage(outcome: BuildOutcome, outputs: BuildOutput[]): ResultImage | null {
  // A build that failed made no image under its tags, unless it pushed the platforms that succeeded.
  if (outcome.state !== 'succeeded' && missingPlatforms(outcome).length === 0) return null;
  const tag = producedTags(outcome, outputs)[0];
  if (!tag) return null;
  const reference = outcome.digest ? `${tag.replace(/@.*$/, '')}@${outcome.digest}` : tag;
  return { reference, label: outcome.digest ? 'Image' : 'Tag', openable: outputs.some((o) => o.type === 'push') };
}
