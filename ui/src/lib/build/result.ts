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
  pushAndLoad: true,
  load: true,
  oci: true,
  docker: true,
  cacheOnly: false,
  tar: false,
  local: false,
};

/** The tags the build gave its image: none when its output makes no image. */
export function producedTags(outcome: BuildOutcome, output: BuildOutput): string[] {
  // Records written before the core named only what the exporter made still carry the form's tags.
  return NAMED[output.type] ? outcome.tags : [];
}

/**
 * The platforms a pushed index lacks when the build kept going and pushed what succeeded while
 * others failed; empty when the tags hold every platform, or nothing was pushed under them.
 */
export function missingPlatforms(outcome: BuildOutcome): string[] {
  if (outcome.tags.length === 0) return [];
  return outcome.platformResults.filter((r) => r.state !== 'succeeded').map((r) => r.platform);
}

export function resultImage(outcome: BuildOutcome, output: BuildOutput): ResultImage | null {
  // A build that failed made no image under its tags, unless it pushed the platforms that succeeded.
  if (outcome.state !== 'succeeded' && missingPlatforms(outcome).length === 0) return null;
  const tag = producedTags(outcome, output)[0];
  if (!tag) return null;
  const reference = outcome.digest ? `${tag.replace(/@.*$/, '')}@${outcome.digest}` : tag;
  return { reference, label: outcome.digest ? 'Image' : 'Tag', openable: output.type === 'push' || output.type === 'pushAndLoad' };
}
