// The `docker buildx …` commands the Images view offers to copy. The inspection carries its own
// (`Inspection.cli`); these are for a reference that has not been (or could not be) inspected.

/** Quotes a word for a POSIX shell only when it needs it. */
export function shellWord(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** `docker buildx imagetools inspect <ref>` (and `--raw` for the exact bytes). */
export function imagetoolsInspect(reference: string, raw = false): string {
  return `docker buildx imagetools inspect ${raw ? '--raw ' : ''}${shellWord(reference.trim())}`;
}

/** `docker pull <ref>`: what a pull-by-digest copy is for. */
export function dockerPull(reference: string): string {
  return `docker pull ${shellWord(reference.trim())}`;
}
