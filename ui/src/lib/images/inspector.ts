// The manifest inspector's view model: what each platform card, badge, bar, layer row, history
// row and config row shows, and what the copy buttons and the raw tab offer. The core has done
// the reading (attestations folded, sizes summed, layers counted per platform); this only arranges.
import { barFraction, formatBytes, formatCreated, mediaTypeLabel, shortDigest } from './format';
import type { Attestation, ImageConfig, Inspection, Layer, NestedIndex, PlatformImage, SizeMatrix } from '../types';

export interface AttestationBadge {
  /** "provenance", "SBOM", "provenance + SBOM", or "attestation" for other statements. */
  label: string;
  provenance: boolean;
  sbom: boolean;
  /** In-toto statements across the platform's attestation manifests. */
  statements: number;
  /** A problem reading (part of) an attestation. */
  problem: string | null;
}

export interface PlatformCard {
  /**
   * The entry's position in the index tree (`0`, `1.2`): the key of its card. Not the digest: one
   * manifest may be listed under two platforms, and keying on it left the inspector blank.
   */
  key: string;
  platform: string;
  os: string;
  architecture: string;
  variant: string | null;
  osVersion: string | null;
  digest: string;
  shortDigest: string;
  mediaType: string;
  mediaTypeLabel: string;
  size: number;
  sizeLabel: string;
  /** The bar's width relative to the largest platform. */
  fraction: number;
  layers: number;
  badge: AttestationBadge | null;
  /** The index entry's annotations, `key: value` in key order (as `imagetools inspect` lists them). */
  annotations: string[];
  error: string | null;
}

/** A summary of a platform's attestations for its badge; null when it has none. */
export function attestationBadge(attestations: readonly Attestation[]): AttestationBadge | null {
  if (!attestations.length) return null;
  const provenance = attestations.some((a) => a.provenance !== null);
  const sbom = attestations.some((a) => a.sbom !== null);
  const label = provenance && sbom ? 'provenance + SBOM' : provenance ? 'provenance' : sbom ? 'SBOM' : 'attestation';
  const problems = attestations.map((a) => a.error).filter((e): e is string => !!e);
  return {
    label,
    provenance,
    sbom,
    statements: attestations.reduce((n, a) => n + a.statements.length, 0),
    problem: problems.length ? problems.join('; ') : null,
  };
}

/**
 * One card per platform image, in the index's order (the order `imagetools inspect` prints),
 * with bars scaled to the largest platform.
 */
export function platformCards(inspection: Inspection): PlatformCard[] {
  const largest = Math.max(inspection.sizeMatrix.largest, ...inspection.platforms.map((p) => p.compressedSize), 0);
  return inspection.platforms.map((p) => ({
    key: p.key,
    platform: p.platform,
    os: p.os,
    architecture: p.architecture,
    variant: p.variant,
    osVersion: p.osVersion,
    digest: p.digest,
    shortDigest: shortDigest(p.digest),
    mediaType: p.mediaType,
    mediaTypeLabel: mediaTypeLabel(p.mediaType),
    size: p.compressedSize,
    sizeLabel: formatBytes(p.compressedSize),
    fraction: barFraction(p.compressedSize, largest),
    layers: p.layers.length,
    badge: attestationBadge(p.attestations),
    annotations: annotationLines(p.annotations),
    error: p.error,
  }));
}

/** Annotations as `imagetools inspect` prints them, `key: value`, in key order. */
export function annotationLines(annotations: { [key: string]: string }): string[] {
  return sortedEntries(annotations).map(([k, v]) => `${k}: ${v}`);
}

/** The platform's annotations as config rows: its index entry's, then its manifest's own. */
export function annotationRows(image: PlatformImage): ConfigRow[] {
  const rows: ConfigRow[] = [];
  const entry = annotationLines(image.annotations);
  const manifest = annotationLines(image.manifestAnnotations);
  if (entry.length) rows.push({ field: 'Entry annotations', values: entry, mono: true });
  if (manifest.length) rows.push({ field: 'Manifest annotations', values: manifest, mono: true });
  return rows;
}

/** A node of the index tree: a platform's card, or a nested index with the entries it lists. */
export type TreeNode =
  | { kind: 'platform'; key: string; card: PlatformCard }
  | {
      kind: 'index';
      key: string;
      index: NestedIndex;
      label: string;
      annotations: string[];
      indexAnnotations: string[];
      children: TreeNode[];
    };

/** Compares tree keys by position: `2` before `10`, `1` before `1.0`. */
function byPosition(a: string, b: string): number {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/** The index as the tree it is: top-level entries in order, nested indexes holding their own. */
export function entryTree(inspection: Inspection): TreeNode[] {
  const cards = platformCards(inspection);
  const under = (parent: string | null): TreeNode[] => {
    const platforms: TreeNode[] = cards
      .filter((_, i) => (inspection.platforms[i].parent ?? null) === parent)
      .map((card): TreeNode => ({ kind: 'platform', key: card.key, card }));
    const indexes: TreeNode[] = inspection.indexes
      .filter((n) => (n.parent ?? null) === parent)
      .map((index): TreeNode => ({
        kind: 'index',
        key: index.key,
        index,
        label: index.platform ? `index · ${index.platform}` : 'index',
        annotations: annotationLines(index.annotations),
        indexAnnotations: annotationLines(index.indexAnnotations),
        children: under(index.key),
      }));
    return [...platforms, ...indexes].sort((a, b) => byPosition(a.key, b.key));
  };
  return under(null);
}

/** The platform shown below the cards: the entry chosen (by key) if it still exists, else the first. */
export function selectedPlatform(inspection: Inspection | null, chosen: string | null): PlatformImage | null {
  if (!inspection || !inspection.platforms.length) return null;
  return inspection.platforms.find((p) => p.key === chosen) ?? inspection.platforms[0];
}

export type LayerMarkKind = 'all' | 'some' | 'unique' | 'single';

export interface LayerMark {
  kind: LayerMarkKind;
  text: string;
}

/** How a layer is shared among the `platforms` of its index. */
export function layerMark(layer: Layer, platforms: number): LayerMark {
  if (platforms <= 1) return { kind: 'single', text: '' };
  if (layer.sharedBy >= platforms) return { kind: 'all', text: 'shared by all' };
  if (layer.sharedBy <= 1) return { kind: 'unique', text: 'unique' };
  return { kind: 'some', text: `shared by ${layer.sharedBy} of ${platforms}` };
}

export interface LayerRow {
  index: number;
  digest: string;
  shortDigest: string;
  mediaType: string;
  mediaTypeLabel: string;
  size: number;
  sizeLabel: string;
  /** Relative to the platform's largest layer. */
  fraction: number;
  mark: LayerMark;
  /** The history step that made it, when history and layers pair up. */
  createdBy: string | null;
}

export function layerRows(image: PlatformImage, platforms: number): LayerRow[] {
  const largest = Math.max(0, ...image.layers.map((l) => l.size));
  const madeBy = new Map<string, string>();
  for (const step of image.history) if (step.layerDigest && !madeBy.has(step.layerDigest)) madeBy.set(step.layerDigest, step.createdBy);
  return image.layers.map((l, index) => ({
    index,
    digest: l.digest,
    shortDigest: shortDigest(l.digest),
    mediaType: l.mediaType,
    mediaTypeLabel: mediaTypeLabel(l.mediaType),
    size: l.size,
    sizeLabel: formatBytes(l.size),
    fraction: barFraction(l.size, largest),
    mark: layerMark(l, platforms),
    createdBy: madeBy.get(l.digest) ?? null,
  }));
}

export interface HistoryRow {
  index: number;
  created: string;
  createdBy: string;
  comment: string | null;
  /** A step that made no layer (ENV, CMD, …). */
  empty: boolean;
  sizeLabel: string | null;
}

const NOP = /^\/bin\/sh -c #\(nop\)\s+/;

/** A history step's command as shown: the classic builder's `/bin/sh -c #(nop)` prefix dropped. */
export function stepCommand(createdBy: string): string {
  return createdBy.replace(NOP, '');
}

/** History steps in order; `#(nop)` prefixes of the classic builder are dropped, sizes come from the layer made. */
export function historyRows(image: PlatformImage): HistoryRow[] {
  const sizes = new Map(image.layers.map((l) => [l.digest, l.size]));
  return image.history.map((step, index) => {
    const size = step.layerDigest ? sizes.get(step.layerDigest) : undefined;
    return {
      index,
      created: formatCreated(step.created),
      createdBy: stepCommand(step.createdBy),
      comment: step.comment,
      empty: step.emptyLayer,
      sizeLabel: size === undefined ? null : formatBytes(size),
    };
  });
}

export interface ConfigRow {
  field: string;
  /** One line per value (an env entry, a label); an empty list for an unset field. */
  values: string[];
  mono: boolean;
}

/** The exec form as docker inspect shows it: `["/bin/sh","-c","…"]`. */
export function execForm(words: readonly string[]): string {
  return words.length ? JSON.stringify(words) : '';
}

/** The config's fields in a fixed order; unset ones are left out, except Entrypoint/Cmd which say "(none)". */
export function configRows(config: ImageConfig | null): ConfigRow[] {
  if (!config) return [];
  const rows: ConfigRow[] = [];
  const add = (field: string, values: string[], mono = true) => {
    if (values.length) rows.push({ field, values, mono });
  };
  add('Entrypoint', [execForm(config.entrypoint) || '(none)']);
  add('Cmd', [execForm(config.cmd) || '(none)']);
  add('Env', config.env);
  add('WorkingDir', config.workingDir ? [config.workingDir] : []);
  add('User', config.user ? [config.user] : []);
  add('ExposedPorts', config.exposedPorts);
  add('Volumes', config.volumes);
  add('StopSignal', config.stopSignal ? [config.stopSignal] : []);
  add(
    'Labels',
    Object.keys(config.labels)
      .sort()
      .map((k) => `${k}=${config.labels[k]}`),
  );
  add('Created', config.created ? [formatCreated(config.created)] : [], false);
  add('Author', config.author ? [config.author] : [], false);
  return rows;
}

export interface CopyTarget {
  key: 'tag' | 'digest' | 'pull' | 'cli';
  label: string;
  text: string;
}

/** What the header's copy buttons copy: the tag reference (when tagged), the digest, pull by digest, the CLI. */
export function copyTargets(inspection: Inspection): CopyTarget[] {
  const targets: CopyTarget[] = [];
  if (inspection.reference.tag !== null) targets.push({ key: 'tag', label: 'Copy tag', text: inspection.name });
  targets.push({ key: 'digest', label: 'Copy digest', text: inspection.digest });
  if (inspection.pullCli) targets.push({ key: 'pull', label: 'Copy pull by digest', text: inspection.pullCli });
  targets.push({ key: 'cli', label: 'Copy as CLI', text: inspection.cli });
  return targets;
}

export interface RawDocument {
  key: string;
  label: string;
  /** The exact bytes as served. */
  text: string;
  /** The `imagetools inspect --raw` command that prints the same bytes, when there is one. */
  cli: string | null;
}

/** The documents the raw tab offers: the manifest (or index) itself, then each platform's manifest and config. */
export function rawDocuments(inspection: Inspection): RawDocument[] {
  const top = inspection.kind === 'index' ? 'Index' : 'Manifest';
  const docs: RawDocument[] = [
    { key: 'top', label: `${top} ${shortDigest(inspection.digest)}`, text: inspection.raw, cli: inspection.cliRaw },
  ];
  if (inspection.kind !== 'index') {
    const only = inspection.platforms[0];
    if (only?.configRaw) docs.push({ key: `config:${only.digest}`, label: 'Config', text: only.configRaw, cli: null });
    return docs;
  }
  for (const p of inspection.platforms) {
    if (p.raw) docs.push({ key: `manifest:${p.digest}`, label: `${p.platform} manifest`, text: p.raw, cli: p.cliRaw });
    if (p.configRaw) docs.push({ key: `config:${p.digest}`, label: `${p.platform} config`, text: p.configRaw, cli: null });
  }
  return docs;
}

export interface SizeMatrixRow {
  platform: string;
  total: number;
  totalLabel: string;
  layers: number;
  /** Bar segments, each a fraction of the largest platform total. */
  sharedFraction: number;
  someFraction: number;
  uniqueFraction: number;
  sharedLabel: string;
  uniqueLabel: string;
}

/** The size matrix's rows: shared-by-all, shared-by-some and unique bytes as stacked bar segments. */
export function sizeMatrixRows(matrix: SizeMatrix): SizeMatrixRow[] {
  const largest = Math.max(matrix.largest, ...matrix.rows.map((r) => r.total), 0);
  const part = (n: number) => (largest > 0 && n > 0 ? n / largest : 0);
  return matrix.rows.map((r) => ({
    platform: r.platform,
    total: r.total,
    totalLabel: formatBytes(r.total),
    layers: r.layers,
    sharedFraction: part(r.shared),
    someFraction: part(Math.max(0, r.total - r.shared - r.unique)),
    uniqueFraction: part(r.unique),
    sharedLabel: formatBytes(r.shared),
    uniqueLabel: formatBytes(r.unique),
  }));
}


/** Builder args in name order, for the provenance panel. */
export function sortedEntries(map: { [key: string]: string }): Array<[string, string]> {
  return Object.keys(map)
    .sort()
    .map((k) => [k, map[k]] as [string, string]);
}

/** Index-level facts for the header: kind and what else the index holds. */
export function summary(inspection: Inspection): string {
  const parts: string[] = [mediaTypeLabel(inspection.mediaType)];
  if (inspection.kind === 'index') {
    const n = inspection.platforms.length;
    parts.push(`${n} ${n === 1 ? 'platform' : 'platforms'}`);
    const attested = inspection.platforms.filter((p) => p.attestations.length).length;
    if (attested) parts.push(`${attested} attested`);
  }
  if (inspection.indexes.length) parts.push(`${inspection.indexes.length} nested ${inspection.indexes.length === 1 ? 'index' : 'indexes'}`);
  if (inspection.others.length) parts.push(`${inspection.others.length} other ${inspection.others.length === 1 ? 'entry' : 'entries'}`);
  const referrers = inspection.referrers.length + inspection.platforms.reduce((n, p) => n + p.referrers.length, 0);
  if (referrers) parts.push(`${referrers} ${referrers === 1 ? 'referrer' : 'referrers'}`);
  return parts.join(' · ');
}
