import { describe, expect, it } from 'vitest';
import type { BuildOutcome } from '../types';
import { missingPlatforms, outputLabels, producedTags, resultImage } from './result';
import { platformResult } from './testSteps';

const DIGEST = 'sha256:' + 'a'.repeat(64);

function outcome(partial: Partial<BuildOutcome> = {}): BuildOutcome {
  return {
    buildRef: 'ref',
    builder: 'default',
    state: 'succeeded',
    digest: null,
    platforms: ['linux/amd64'],
    tags: [],
    durationMs: 1000,
    failure: null,
    steps: [],
    exporterResponse: {},
    platformResults: [],
    ...partial,
  };
}

describe('the result card’s image', () => {
  it('opens a pushed image by its digest in the Images view', () => {
    const pushed = outcome({ tags: ['127.0.0.1:5055/app:1'], digest: DIGEST, exporterResponse: { 'image.name': '127.0.0.1:5055/app:1' } });
    expect(resultImage(pushed, [{ type: 'push' }])).toEqual({ reference: `127.0.0.1:5055/app:1@${DIGEST}`, label: 'Image', openable: true });
    expect(resultImage(pushed, [{ type: 'push' }, { type: 'load' }])?.openable).toBe(true);
  });

  it('shows the index a build that kept going pushed of the platforms that succeeded, and which it lacks', () => {
    const results = [platformResult('linux/amd64', 'succeeded'), platformResult('linux/arm64', 'failed')];
    const partial = outcome({ state: 'failed', tags: ['127.0.0.1:5055/app:1'], digest: DIGEST, platformResults: results });
    expect(missingPlatforms(partial)).toEqual(['linux/arm64']);
    expect(resultImage(partial, [{ type: 'push' }])).toEqual({ reference: `127.0.0.1:5055/app:1@${DIGEST}`, label: 'Image', openable: true });
    // Without the partial push nothing went under the tag.
    const kept = outcome({ state: 'failed', platformResults: results });
    expect(missingPlatforms(kept)).toEqual([]);
    expect(resultImage(kept, [{ type: 'push' }])).toBeNull();
    expect(missingPlatforms(outcome({ tags: ['127.0.0.1:5055/app:1'], digest: DIGEST }))).toEqual([]);
  });

  it('names nothing for a build-only run, even when its record still carries the form’s tag', () => {
    // As recorded before the core stopped copying the form's tags into every outcome.
    const stale = outcome({ tags: ['127.0.0.1:5055/app:1'] });
    expect(resultImage(stale, [{ type: 'cacheOnly' }])).toBeNull();
    expect(resultImage(stale, [{ type: 'local', dest: '/tmp/out' }])).toBeNull();
    expect(resultImage(outcome(), [{ type: 'cacheOnly' }])).toBeNull();
    // The recent builds list labels such a record by its folder, not by the tag.
    expect(producedTags(stale, [{ type: 'cacheOnly' }])).toEqual([]);
    expect(producedTags(stale, [{ type: 'push' }])).toEqual(['127.0.0.1:5055/app:1']);
  });

  it('shows a loaded or written image’s tag without offering to open it from a registry', () => {
    const loaded = outcome({ tags: ['app:dev'], digest: DIGEST });
    expect(resultImage(loaded, [{ type: 'load' }])).toEqual({ reference: `app:dev@${DIGEST}`, label: 'Image', openable: false });
    expect(resultImage(outcome({ tags: ['app:dev'] }), [{ type: 'oci', dest: '/tmp/a.tar' }])).toEqual({
      reference: 'app:dev',
      label: 'Tag',
      openable: false,
    });
  });

  it('names nothing for a build that did not succeed', () => {
    expect(resultImage(outcome({ state: 'failed', tags: ['app:1'] }), [{ type: 'push' }])).toBeNull();
  });

  it('names the image of a build of several outputs when one of them makes it, and opens it when one pushes', () => {
    const built = outcome({ tags: ['127.0.0.1:5055/app:1'], digest: DIGEST });
    const files = [{ type: 'local', dest: '/tmp/out' }, { type: 'tar', dest: '/tmp/fs.tar' }] as const;
    expect(resultImage(built, [...files])).toBeNull();
    expect(resultImage(built, [...files, { type: 'oci', dest: '/tmp/a.tar' }])?.openable).toBe(false);
    expect(resultImage(built, [...files, { type: 'push' }])?.openable).toBe(true);
  });
});

describe('the result card’s outputs', () => {
  it('lists every output in order, with the file or folder each wrote', () => {
    expect(outputLabels([{ type: 'local', dest: '/tmp/out' }, { type: 'tar', dest: '/tmp/fs.tar' }, { type: 'push' }])).toEqual([
      'folder /tmp/out',
      'filesystem tar /tmp/fs.tar',
      'pushed',
    ]);
    expect(outputLabels([])).toEqual(['build cache only']);
  });

  it('says what each output gave its exporter, as --output writes it', () => {
    expect(
      outputLabels([
        { type: 'push', attrs: { compression: 'zstd', name: '127.0.0.1:5055/app:1' } },
        { type: 'oci', dest: '/tmp/layout', attrs: { tar: 'false' } },
        { type: 'image' },
      ]),
    ).toEqual(['pushed (compression=zstd, name=127.0.0.1:5055/app:1)', 'OCI tarball /tmp/layout (tar=false)', 'kept in the builder']);
  });
});
