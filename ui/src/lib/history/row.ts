// What a build's row in a list says under its name — the builder's history, an opened
// `.dockerbuild` file, the Build view's recent builds — so the three lists read alike.
import { relativeTime } from '../builders';
import { formatDuration } from '../build/lanes';
import type { HistoryEntry } from '../types';
import { stepsText } from './history.svelte';

/** The parts given, blank ones left out, joined as a row's line under the name. */
export function rowMeta(parts: (string | null | undefined)[]): string {
  return parts.filter((p): p is string => !!p && p.trim() !== '').join(' · ');
}

/** A history record's line: when it started, how long it ran (or that it runs), its steps. */
export function entryMeta(entry: HistoryEntry, now: Date): string {
  const took = entry.status === 'running' ? 'running' : entry.durationMs !== null ? formatDuration(entry.durationMs) : null;
  return rowMeta([relativeTime(entry.createdAt, now), took, stepsText(entry)]);
}
