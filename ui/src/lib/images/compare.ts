// Compare mode: two platform images side by side (two platforms of one index, or the same
// platform of two tags), differences highlighted. The core pairs fields and layers and aligns the
// history steps; this decides nothing but how each row is marked and reads.
import { formatBytes, shortDigest, signedBytes } from './format';
import { stepCommand } from './inspector';
import type { Comparison, HistoryPair, HistoryStep, Inspection, PlatformImage, StepMark } from '../types';

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

export interface HistoryPairRow {
  index: number;
  /** The step's command on each side; null where that side has no step here. */
  left: string | null;
  right: string | null;
  /** The size of the layer the step made, "no layer" for an empty step, '' for no step. */
  leftSize: string;
  rightSize: string;
  mark: RowMark;
  /** "same", "changed", "only left", "only right". */
  label: string;
  /** Both sides ran the same command but made different layers. */
  layerChanged: boolean;
}

export interface CompareView {
  fields: FieldRow[];
  layers: LayerPairRow[];
  history: HistoryPairRow[];
  changedFields: number;
  changedLayers: number;
  changedSteps: number;
  /** Right minus left, signed. */
  sizeDifference: string;
}

function mark(same: boolean, left: unknown, right: unknown): RowMark {
  if (same) return 'same';
  if (left === null || left === '') return 'added';
  if (right === null || right === '') return 'removed';
  return 'changed';
}

const STEP_MARKS: Record<StepMark, [RowMark, string]> = {
  same: ['same', 'same'],
  changed: ['changed', 'changed'],
  onlyLeft: ['removed', 'only left'],
  onlyRight: ['added', 'only right'],
};

function stepSize(step: HistoryStep | null, size: number | null): string {
  if (!step) return '';
  if (step.emptyLayer) return 'no layer';
  return size === null ? '' : formatBytes(size);
}

/** One row per aligned history step, as the core aligned them. */
export function historyPairRows(history: readonly HistoryPair[]): HistoryPairRow[] {
  return history.map((p, index) => {
    const [mark, label] = STEP_MARKS[p.mark];
    return {
      index,
      left: p.left ? stepCommand(p.left.createdBy) : null,
      right: p.right ? stepCommand(p.right.createdBy) : null,
      leftSize: stepSize(p.left, p.leftSize),
      rightSize: stepSize(p.right, p.rightSize),
      mark,
      label,
      layerChanged: p.mark === 'changed' && !!p.left && !!p.right && p.left.createdBy === p.right.createdBy,
    };
  });
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
  const history = historyPairRows(c.history);
  return {
    fields,
    layers,
    history,
    changedFields: fields.filter((f) => f.mark !== 'same').length,
    changedLayers: layers.filter((l) => l.mark !== 'same').length,
    changedSteps: history.filter((h) => h.mark !== 'same').length,
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
