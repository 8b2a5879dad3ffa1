// Compare mode: two platform images side by side (two platforms of one index, or the same
// platform of two tags), differences highlighted. The core pairs fields and layers; this decides
// nothing but how each row is marked.
import { formatBytes, shortDigest, signedBytes } from './format';
import type { Comparison, Inspection, PlatformImage } from '../types';

export type RowMark = 'same' | 'changed' | 'added' | 'removed';

export interface FieldRow {
  field: string;
  left: string;
  right: string;
  mark: RowMark;
}

export interface LayerPairRow {
  index: number;
  left: string | null;
  right: string | null;
  leftSize: string;
  rightSize: string;
  leftDigest: string | null;
  rightDigest: string | null;
  mark: RowMark;
}

export interface CompareView {
  fields: FieldRow[];
  layers: LayerPairRow[];
  changedFields: number;
  changedLayers: number;
  /** Right minus left, signed. */
  sizeDifference: string;
}

function mark(same: boolean, left: unknown, right: unknown): RowMark {
  if (same) return 'same';
  if (left === null || left === '') return 'added';
  if (right === null || right === '') return 'removed';
  return 'changed';
}

export function compareView(c: Comparison): CompareView {
  const fields = c.fields.map((f) => ({ field: f.field, left: f.left, right: f.right, mark: mark(f.same, f.left, f.right) }));
  const layers = c.layers.map((p, index) => ({
    index,
    left: p.left ? shortDigest(p.left.digest) : null,
    right: p.right ? shortDigest(p.right.digest) : null,
    leftDigest: p.left?.digest ?? null,
    rightDigest: p.right?.digest ?? null,
    leftSize: p.left ? formatBytes(p.left.size) : '',
    rightSize: p.right ? formatBytes(p.right.size) : '',
    mark: mark(p.same, p.left, p.right),
  }));
  return {
    fields,
    layers,
    changedFields: fields.filter((f) => f.mark !== 'same').length,
    changedLayers: layers.filter((l) => l.mark !== 'same').length,
    sizeDifference: signedBytes(c.sizeDifference),
  };
}

/** The platform of `other` to put beside `platform`: the same platform, else the first. */
export function counterpart(other: Inspection | null, platform: string | null): PlatformImage | null {
  if (!other || !other.platforms.length) return null;
  return other.platforms.find((p) => p.platform === platform) ?? other.platforms[0];
}

/** A default pair for comparing two platforms of one index: the selected one and the next. */
export function defaultPair(inspection: Inspection, selected: string | null): [string, string] | null {
  const ps = inspection.platforms;
  if (ps.length < 2) return null;
  const i = Math.max(0, ps.findIndex((p) => p.digest === selected));
  return [ps[i].digest, ps[(i + 1) % ps.length].digest];
}
