// A build record's attachment (provenance, SBOM) opened in the Images view's inspector: from the
// registry when the core says the build pushed its image with its attestations (`pushedImage`),
// else read from where the record lives (the builder's content store, a `.dockerbuild` file).
import { imagesHash } from '../images/route';
import type { ImagesSession } from '../images/session.svelte';
import type { Attachment, RecordSource } from '../types';

/** One attachment of one record, and the image its build pushed with its attestations, if any. */
export interface AttachmentTarget {
  source: RecordSource;
  buildRef: string;
  attachment: Attachment;
  pushedImage: string | null;
}

/** Opens `target` in the Images view of `images`, switching to it through `where`'s hash. */
export function openAttachment(
  images: Pick<ImagesSession, 'openAttestations' | 'openRecordAttestation'>,
  target: AttachmentTarget,
  where: { location: { hash: string } } = window,
): Promise<void> {
  const opening = target.pushedImage
    ? images.openAttestations(target.pushedImage, target.attachment.platform)
    : images.openRecordAttestation(target.source, target.buildRef, target.attachment.digest);
  // The reference is opened already: the Images view finds it open and does not open it again.
  where.location.hash = imagesHash(target.pushedImage);
  return opening;
}
