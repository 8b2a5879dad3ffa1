// The Cache panel's record list: the records of every node, largest first unless the user sorts
// by another column, and the filter lines of the prune form as the core takes them.
import type { CacheRecord, DiskUsage } from '../types';

export type SortKey = 'size' | 'lastUsed' | 'type' | 'usageCount';

export interface Sort {
  key: SortKey;
  descending: boolean;
}

/** How many records the panel lists at first. */
export const LISTED = 50;

function compare(a: CacheRecord, b: CacheRecord, key: SortKey): number {
  switch (key) {
    case 'size':
      return a.size - b.size;
    case 'usageCount':
      return a.usageCount - b.usageCount;
    case 'type':
      return a.recordType.localeCompare(b.recordType);
    case 'lastUsed':
      // Never used sorts as the oldest.
      return (a.lastUsedAt ?? '').localeCompare(b.lastUsedAt ?? '');
  }
}

/** Every node's records in `sort` order; ties keep the id order so the list does not jump. */
export function sortedRecords(usage: DiskUsage, sort: Sort): CacheRecord[] {
  const all = usage.nodes.flatMap((n) => n.records);
  return all.sort((a, b) => {
    const c = compare(a, b, sort.key);
    return (sort.descending ? -c : c) || a.id.localeCompare(b.id);
  });
}

/** Clicking a column sorts by it, descending first; clicking it again turns the order round. */
export function nextSort(current: Sort, key: SortKey): Sort {
  return current.key === key ? { key, descending: !current.descending } : { key, descending: true };
}

/** The prune form's filter box, one `key=value` per line, as the core's filter list. */
export function filterLines(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
}
