// The Images view's place in the app's hash routes: `#images`, or `#images?ref=<reference>` to open
// a reference there. Other views link here through openImage.

export const IMAGES_HASH = '#images';

/** The hash that shows the Images view, opening `reference` when given. */
export function imagesHash(reference?: string | null): string {
  const ref = reference?.trim();
  return ref ? `${IMAGES_HASH}?ref=${encodeURIComponent(ref)}` : IMAGES_HASH;
}

export function isImagesHash(hash: string): boolean {
  return hash === IMAGES_HASH || hash.startsWith(`${IMAGES_HASH}?`) || hash.startsWith(`${IMAGES_HASH}/`);
}

/** The reference an images hash asks to open, or null. */
export function referenceFromHash(hash: string): string | null {
  if (!isImagesHash(hash)) return null;
  const query = hash.indexOf('?');
  if (query < 0) return null;
  const ref = new URLSearchParams(hash.slice(query + 1)).get('ref');
  return ref && ref.trim() ? ref.trim() : null;
}

/** Fired when openImage asks for the reference the hash already names (no hashchange then). */
export const REOPEN_EVENT = 'buildlane:open-image';

/**
 * Switches to the Images view and opens `reference` there (any form docker accepts:
 * `alpine`, `host:5000/repo:tag`, `…@sha256:…`).
 */
export function openImage(reference: string, where: { location: { hash: string }; dispatchEvent?: (e: Event) => boolean } = window): void {
  const hash = imagesHash(reference);
  if (where.location.hash === hash) {
    where.dispatchEvent?.(new Event(REOPEN_EVENT));
  } else {
    where.location.hash = hash;
  }
}
