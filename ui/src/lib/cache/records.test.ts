import { describe, expect, it } from 'vitest';
import type { CacheRecord, DiskUsage } from '../types';
import { filterLines, nextSort, sortedRecords } from './records';

function record(id: string, size: number, lastUsedAt: string | null, recordType = 'regular'): CacheRecord {
  return {
    id,
    node: 'n0',
    mutable: false,
    inUse: false,
    reclaimable: true,
    shared: false,
    size,
    sizeText: `${size}B`,
    recordType,
    description: '',
    usageCount: 1,
    parents: [],
    createdAt: null,
    lastUsedAt,
    lastUsedText: '',
  };
}

const usage = (records: CacheRecord[][]): DiskUsage => ({
  builder: 'b',
  nodes: records.map((r, i) => ({
    node: `n${i}`,
    buildkit: '',
    records: r,
    totals: {} as DiskUsage['totals'],
  })),
  totals: {} as DiskUsage['totals'],
  segments: [],
  filtered: false,
  notes: [],
});

describe('the cache record list', () => {
  it('lists every node’s records largest first, and by another column when asked', () => {
    const u = usage([
      [record('a', 10, '2026-12-01T10:00:00Z'), record('b', 300, null)],
      [record('c', 20, '2026-12-01T12:00:00Z', 'exec.cachemount')],
    ]);
    expect(sortedRecords(u, { key: 'size', descending: true }).map((r) => r.id)).toEqual(['b', 'c', 'a']);
    expect(sortedRecords(u, { key: 'lastUsed', descending: false }).map((r) => r.id)).toEqual(['b', 'a', 'c']);
    expect(sortedRecords(u, { key: 'type', descending: false }).map((r) => r.id)).toEqual(['c', 'a', 'b']);
  });

  it('turns the order round on a second click of the same column', () => {
    const s = nextSort({ key: 'size', descending: true }, 'size');
    expect(s).toEqual({ key: 'size', descending: false });
    expect(nextSort(s, 'type')).toEqual({ key: 'type', descending: true });
  });

  it('reads one filter per line and drops blank ones', () => {
    expect(filterLines(' type=regular \n\n until=24h\n')).toEqual(['type=regular', 'until=24h']);
  });
});
