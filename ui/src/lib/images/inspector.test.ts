import { describe, expect, it } from 'vitest';
import {
  annotationLines,
  annotationRows,
  attestationBadge,
  configRows,
  copyTargets,
  entryTree,
  execForm,
  historyRows,
  layerMark,
  layerRows,
  platformCards,
  rawDocuments,
  selectedPlatform,
  sizeMatrixRows,
  sortedEntries,
  summary,
} from './inspector';
import { layer, nestedIndex, oneManifestTwice, provenanceAttestation, singleImage, threePlatforms } from './fixtures';

describe('platform cards', () => {
  it('one per platform in index order, bars scaled to the largest, attestations as a badge', () => {
    const cards = platformCards(threePlatforms());
    expect(cards.map((c) => c.platform)).toEqual(['linux/amd64', 'linux/arm64', 'linux/arm/v7']);
    expect(cards[2]).toMatchObject({ architecture: 'arm', variant: 'v7', sizeLabel: '3.0 MB', fraction: 1, layers: 2 });
    expect(cards[0].fraction).toBeCloseTo(2_000_100 / 3_000_000);
    expect(cards[0].mediaTypeLabel).toBe('OCI manifest');
    expect(cards[0].shortDigest).toBe('sha256:111111111111');
    expect(cards.every((c) => c.badge?.label === 'provenance')).toBe(true);
  });
  it('no badge without attestations, and a single image is one card', () => {
    const cards = platformCards(singleImage());
    expect(cards.length).toBe(1);
    expect(cards[0].badge).toBeNull();
    expect(cards[0].fraction).toBe(1);
  });
});

describe('attestationBadge', () => {
  it('names what the attestations hold and counts statements', () => {
    const prov = provenanceAttestation();
    const sbom = { ...prov, provenance: null, sbom: { spdxVersion: 'SPDX-2.3', creators: [], packages: [] } };
    expect(attestationBadge([])).toBeNull();
    expect(attestationBadge([prov])).toMatchObject({ label: 'provenance', statements: 1, problem: null });
    expect(attestationBadge([prov, sbom])).toMatchObject({ label: 'provenance + SBOM', provenance: true, sbom: true, statements: 2 });
    expect(attestationBadge([{ ...prov, provenance: null, error: 'statement too large' }])).toMatchObject({
      label: 'attestation',
      problem: 'statement too large',
    });
  });
});

describe('selectedPlatform', () => {
  it('keeps the choice while it exists, else the first platform', () => {
    const i = threePlatforms();
    expect(selectedPlatform(i, i.platforms[1].key)?.platform).toBe('linux/arm64');
    expect(selectedPlatform(i, 'sha256:gone')?.platform).toBe('linux/amd64');
    expect(selectedPlatform(null, null)).toBeNull();
  });
});

describe('layers', () => {
  it('marks layers shared by all, by some, or unique', () => {
    expect(layerMark(layer('a', 1, 3), 3)).toEqual({ kind: 'all', text: 'shared by all' });
    expect(layerMark(layer('a', 1, 2), 3)).toEqual({ kind: 'some', text: 'shared by 2 of 3' });
    expect(layerMark(layer('a', 1, 1), 3)).toEqual({ kind: 'unique', text: 'unique' });
    expect(layerMark(layer('a', 1, 1), 1)).toEqual({ kind: 'single', text: '' });
  });
  it('rows scale to the largest layer and name the step that made them', () => {
    const i = threePlatforms();
    const rows = layerRows(i.platforms[0], 3);
    expect(rows.map((r) => r.mark.kind)).toEqual(['all', 'unique']);
    expect(rows[0]).toMatchObject({ fraction: 1, sizeLabel: '2.0 MB', createdBy: 'BusyBox', mediaTypeLabel: 'tar+gzip' });
    expect(rows[1].fraction).toBe(0.015);
    expect(rows[1].createdBy).toContain('uname -m');
  });
});

describe('history', () => {
  it('marks empty steps, drops #(nop) and shows the size of the layer made', () => {
    const rows = historyRows(threePlatforms().platforms[2]);
    expect(rows.map((r) => r.empty)).toEqual([false, true, false]);
    expect(rows[1].createdBy).toBe('CMD ["sh"]');
    expect(rows[1].sizeLabel).toBeNull();
    expect(rows[2].sizeLabel).toBe('1.0 MB');
  });
});

describe('config', () => {
  it('lists set fields in a fixed order, labels sorted', () => {
    const rows = configRows(threePlatforms().platforms[0].config);
    expect(rows.map((r) => r.field)).toEqual(['Entrypoint', 'Cmd', 'Env', 'Labels', 'Created']);
    expect(rows[0].values).toEqual(['(none)']);
    expect(rows[1].values).toEqual(['["sh"]']);
    expect(rows[3].values).toEqual(['a=2', 'z=1']);
    expect(rows[4]).toEqual({ field: 'Created', values: ['2026-03-01 10:20:30 UTC'], mono: false });
    expect(configRows(null)).toEqual([]);
    expect(execForm(['/bin/sh', '-c', 'echo "hi"'])).toBe('["/bin/sh","-c","echo \\"hi\\""]');
  });
});

describe('copy targets and raw documents', () => {
  it('copies the tag, the digest, a pull by digest and the CLI', () => {
    const i = threePlatforms();
    const t = copyTargets(i);
    expect(t.map((x) => x.key)).toEqual(['tag', 'digest', 'pull', 'cli']);
    expect(t[0].text).toBe('127.0.0.1:5055/e2e/images-view:42');
    expect(t[1].text).toBe(i.digest);
    expect(t[2].text).toBe(`docker pull ${i.pullByDigest}`);
    expect(t[3].text).toBe('docker buildx imagetools inspect 127.0.0.1:5055/e2e/images-view:42');
    const byDigest = { ...i, reference: { ...i.reference, tag: null, digest: i.digest } };
    expect(copyTargets(byDigest).map((x) => x.key)).toEqual(['digest', 'pull', 'cli']);
  });
  it('offers the exact bytes of the index, each manifest and each config', () => {
    const docs = rawDocuments(threePlatforms());
    expect(docs.map((d) => d.label)).toEqual([
      'Index sha256:999999999999',
      'linux/amd64 manifest',
      'linux/amd64 config',
      'linux/arm64 manifest',
      'linux/arm64 config',
      'linux/arm/v7 manifest',
      'linux/arm/v7 config',
    ]);
    expect(docs[0].text).toBe('{"schemaVersion":2,"manifests":[]}');
    expect(docs[0].cli).toBe('docker buildx imagetools inspect --raw 127.0.0.1:5055/e2e/images-view:42');
    expect(docs[1].cli).toBe(`docker buildx imagetools inspect --raw 127.0.0.1:5055/e2e/images-view@${'sha256:' + '1'.repeat(64)}`);
  });
  it('a single image offers its manifest and its config', () => {
    expect(rawDocuments(singleImage()).map((d) => d.label)).toEqual([`Manifest sha256:${'5'.repeat(12)}`, 'Config']);
  });
});

describe('size matrix and summary', () => {
  it('splits each total into shared-by-all, shared-by-some and unique segments', () => {
    const rows = sizeMatrixRows(threePlatforms().sizeMatrix);
    expect(rows[2]).toMatchObject({ platform: 'linux/arm/v7', totalLabel: '3.0 MB', sharedLabel: '2.0 MB', uniqueLabel: '1.0 MB' });
    expect(rows[2].sharedFraction + rows[2].uniqueFraction + rows[2].someFraction).toBeCloseTo(1);
    expect(rows[0].someFraction).toBe(0);
  });
  it('says what the index holds', () => {
    expect(summary(threePlatforms())).toBe('OCI index · 3 platforms · 3 attested');
    expect(summary(singleImage())).toBe('OCI manifest');
  });
  it('sorts build args by name', () => {
    expect(sortedEntries({ B: '2', A: '1' })).toEqual([
      ['A', '1'],
      ['B', '2'],
    ]);
  });
});

describe('one manifest listed under two platforms', () => {
  it('gives each entry a card of its own with a key of its own, and its annotations', () => {
    const inspection = oneManifestTwice();
    const cards = platformCards(inspection);
    expect(cards.map((c) => [c.platform, c.osVersion])).toEqual([
      ['linux/amd64', null],
      ['windows/amd64', '10.0.17763.1234'],
    ]);
    expect(cards[0].digest).toBe(cards[1].digest);
    expect(new Set(cards.map((c) => c.key)).size).toBe(2);
    expect(cards[1].annotations).toEqual(['org.example.entry: windows']);
    expect(entryTree(inspection).map((n) => n.key)).toEqual(['0', '1']);
  });
  it('selects the windows entry by its key, not the first entry of that digest', () => {
    const inspection = oneManifestTwice();
    expect(selectedPlatform(inspection, '1')?.platform).toBe('windows/amd64');
  });
});

describe('entryTree', () => {
  it('keeps a nested index as a node holding its own entries, with both kinds of annotations', () => {
    const tree = entryTree(nestedIndex());
    expect(tree.map((n) => [n.kind, n.key])).toEqual([
      ['platform', '0'],
      ['index', '1'],
    ]);
    const nested = tree[1];
    if (nested.kind !== 'index') throw new Error('expected an index node');
    expect(nested.children.map((n) => n.kind === 'platform' && n.card.platform)).toEqual(['linux/arm64', 'linux/arm/v7']);
    expect(nested.annotations).toEqual(['org.example.kind: nested']);
    expect(nested.indexAnnotations).toEqual(['org.example.level: inner']);
    expect(summary(nestedIndex())).toContain('1 nested index');
  });
  it('orders entries by position, 2 before 10', () => {
    const base = threePlatforms();
    const many = { ...base, platforms: base.platforms.map((p, i) => ({ ...p, key: ['10', '2', '0'][i] })) };
    expect(entryTree(many).map((n) => n.key)).toEqual(['0', '2', '10']);
  });
  it('lists annotations as imagetools does, key: value in key order', () => {
    expect(annotationLines({ 'org.b': '2', 'org.a': '1' })).toEqual(['org.a: 1', 'org.b: 2']);
  });
});

describe('annotationRows', () => {
  it("shows the entry's annotations and the manifest's own, each only when there are some", () => {
    const [, windows] = oneManifestTwice().platforms;
    const image = { ...windows, manifestAnnotations: { 'org.opencontainers.image.created': '2026-03-01' } };
    expect(annotationRows(image)).toEqual([
      { field: 'Entry annotations', values: ['org.example.entry: windows'], mono: true },
      { field: 'Manifest annotations', values: ['org.opencontainers.image.created: 2026-03-01'], mono: true },
    ]);
    expect(annotationRows(threePlatforms().platforms[0])).toEqual([]);
  });
});
