import { describe, expect, it, vi } from 'vitest';
import type { Inspection, Referrer } from '../types';
import { singleImage, threePlatforms } from './fixtures';
import { artifactFacts, byDigest, referrerRows } from './referrers';
import { ImagesSession, type ImagesApi } from './session.svelte';

const SIGNATURE = 'application/vnd.example.signature.v1+json';
const d = (c: string) => 'sha256:' + c.repeat(64);

const referrer = (digest: string, artifactType: string | null, annotations: Record<string, string> = {}): Referrer => ({
  digest,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  artifactType,
  size: 560,
  annotations,
});

/** An artifact manifest as `<repo>@<digest>` opens: its own bytes name its type and subject. */
function artifact(doc: object): Inspection {
  return { ...singleImage(), reference: { registry: '127.0.0.1:5055', repository: 'e2e/app', tag: null, digest: d('7') }, raw: JSON.stringify(doc) };
}

describe('referrerRows', () => {
  it('lists the referrers of the index, then of each platform, each opening its manifest by digest', () => {
    const inspection = threePlatforms();
    inspection.referrers = [referrer(d('a'), SIGNATURE, { 'org.opencontainers.image.created': '2026-03-01T00:00:00Z' })];
    inspection.platforms[1].referrers = [referrer(d('c'), null)];
    const rows = referrerRows(inspection);
    expect(rows.map((r) => [r.subject, r.artifactType])).toEqual([
      ['this index', SIGNATURE],
      ['linux/arm64', 'OCI manifest'],
    ]);
    expect(rows[0]).toMatchObject({
      reference: `127.0.0.1:5055/e2e/images-view@${d('a')}`,
      shortDigest: 'sha256:aaaaaaaaaaaa',
      sizeLabel: '560 B',
      created: '2026-03-01T00:00:00Z',
    });
    expect(rows[1].created).toBeNull();
    expect(new Set(rows.map((r) => r.key)).size).toBe(2);
  });

  it('says "this image" for a single manifest and lists nothing when there are none', () => {
    const single = singleImage();
    expect(referrerRows(single)).toEqual([]);
    single.referrers = [referrer(d('a'), SIGNATURE)];
    expect(referrerRows(single)[0]).toMatchObject({ subject: 'this image', reference: `docker.io/library/alpine@${d('a')}` });
  });
});

describe('artifactFacts', () => {
  it("reads an opened artifact's type and subject from its manifest", () => {
    const facts = artifactFacts(
      artifact({
        schemaVersion: 2,
        artifactType: SIGNATURE,
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: d('4'), size: 2 },
        subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: d('5'), size: 700 },
      }),
    );
    expect(facts).toEqual({ artifactType: SIGNATURE, subject: d('5'), subjectReference: `127.0.0.1:5055/e2e/app@${d('5')}` });
  });

  it('takes the config media type of an older artifact, and is null for a plain image or bad bytes', () => {
    expect(artifactFacts(artifact({ config: { mediaType: 'application/vnd.cncf.helm.config.v1+json' } }))).toEqual({
      artifactType: 'application/vnd.cncf.helm.config.v1+json',
      subject: null,
      subjectReference: null,
    });
    expect(artifactFacts(artifact({ config: { mediaType: 'application/vnd.oci.image.config.v1+json' }, layers: [] }))).toBeNull();
    expect(artifactFacts(threePlatforms())).toBeNull();
    expect(artifactFacts(artifact({}))).toBeNull();
    expect(artifactFacts({ ...artifact({}), raw: 'not json' })).toBeNull();
    expect(artifactFacts({ ...artifact({ artifactType: SIGNATURE }), kind: 'schema1' })).toBeNull();
  });
});

describe('following a referrer', () => {
  function session() {
    const index = threePlatforms();
    index.referrers = [referrer(d('a'), SIGNATURE)];
    const opened: string[] = [];
    const api = {
      newOperationId: () => `op-${opened.length}`,
      cancelOperation: vi.fn(async () => true),
      inspectImage: vi.fn(async (ref: string) => {
        opened.push(ref);
        return ref.includes('@') ? artifact({ artifactType: SIGNATURE, subject: { digest: index.digest } }) : index;
      }),
    } as unknown as ImagesApi;
    return { s: new ImagesSession(api), opened, index };
  }

  it('opens the referrer by digest through the usual open, and Back returns to where it was', async () => {
    const { s, opened, index } = session();
    await s.open('127.0.0.1:5055/e2e/images-view:42');
    expect(s.trail).toEqual([]);
    const [row] = referrerRows(s.inspection!);
    await s.follow(row.reference);
    expect(opened.at(-1)).toBe(`127.0.0.1:5055/e2e/images-view@${d('a')}`);
    expect(s.opened).toBe(row.reference);
    expect(s.referenceText).toBe(row.reference);
    expect(s.trail).toEqual(['127.0.0.1:5055/e2e/images-view:42']);
    expect(artifactFacts(s.inspection!)?.artifactType).toBe(SIGNATURE);

    await s.back();
    expect(opened.at(-1)).toBe('127.0.0.1:5055/e2e/images-view:42');
    expect(s.inspection).toEqual(index);
    expect(s.trail).toEqual([]);
    await s.back();
    expect(opened).toHaveLength(3);
  });

  it('keeps the way back across several hops, and forgets it when another reference is opened', async () => {
    const { s } = session();
    await s.open('127.0.0.1:5055/e2e/images-view:42');
    await s.follow(byDigest(s.inspection!, d('a')));
    await s.follow(byDigest(s.inspection!, d('b')));
    expect(s.trail).toEqual(['127.0.0.1:5055/e2e/images-view:42', `127.0.0.1:5055/e2e/images-view@${d('a')}`]);
    await s.back();
    expect(s.opened).toBe(`127.0.0.1:5055/e2e/images-view@${d('a')}`);
    expect(s.trail).toEqual(['127.0.0.1:5055/e2e/images-view:42']);
    await s.open('alpine');
    expect(s.trail).toEqual([]);
  });
});
