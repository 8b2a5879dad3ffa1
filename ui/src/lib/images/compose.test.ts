import { describe, expect, it, vi } from 'vitest';
import type { Composition, PushEvent } from '../types';
import { ComposeSession, lines, stepText, type ComposeApi } from './compose.svelte';

function composition(overrides: Partial<Composition> = {}): Composition {
  return {
    json: '{}',
    mediaType: 'application/vnd.oci.image.index.v1+json',
    digest: 'sha256:i',
    size: 2,
    tags: [],
    sources: [],
    entries: [],
    dropped: [],
    conflicts: [],
    commandLine: 'docker buildx imagetools create',
    ...overrides,
  };
}

function fakeApi(overrides: Partial<ComposeApi> = {}) {
  let ids = 0;
  const api: ComposeApi = {
    newOperationId: () => `op-${++ids}`,
    cancelOperation: vi.fn(async () => true),
    composePlan: vi.fn(async () => composition()),
    composePush: vi.fn(async () => composition()),
    ...overrides,
  };
  return api;
}

describe('compose session', () => {
  it('asks the core for a preview with what the user picked, each time it changes', async () => {
    const api = fakeApi();
    const session = new ComposeSession(api);
    session.tag = ' r/app:v1 ';
    session.annotations = 'index:a=b\n\n  manifest-descriptor:c=d ';
    session.addSource('r/a:1');
    session.addSource('r/a:1');
    session.addSource('r/b:1');
    await session.refresh();
    expect(api.composePlan).toHaveBeenLastCalledWith(
      {
        sources: ['r/a:1', 'r/b:1'],
        tags: ['r/app:v1'],
        annotations: ['index:a=b', 'manifest-descriptor:c=d'],
        append: false,
        preferIndex: true,
        platforms: [],
        exclude: [],
      },
      expect.any(String),
    );
    session.toggleEntry('sha256:x');
    await session.refresh();
    expect(vi.mocked(api.composePlan).mock.lastCall?.[0].exclude).toEqual(['sha256:x']);
    session.toggleEntry('sha256:x');
    expect(session.exclude).toEqual([]);
  });

  it('shows only the newest preview, and no push while platforms conflict', async () => {
    let answer: (c: Composition) => void = () => undefined;
    const slow = new Promise<Composition>((resolve) => (answer = resolve));
    const conflicted = composition({ conflicts: [{ platform: 'linux/amd64', digests: ['a', 'b'], sources: [0, 1] }] });
    const plan = vi.fn().mockReturnValueOnce(slow).mockResolvedValueOnce(conflicted);
    const session = new ComposeSession(fakeApi({ composePlan: plan }));
    session.tag = 'r/app:v1';
    session.sources = ['r/a:1'];
    const first = session.refresh();
    session.sources = ['r/a:1', 'r/b:1'];
    await session.refresh();
    answer(composition());
    await first;
    expect(session.preview).toBe(conflicted);
    expect(session.canPush).toBe(false);
  });

  it('keeps the steps of a push and its error, with nothing lost', async () => {
    const events: PushEvent[] = [
      { kind: 'copying', digest: 'sha256:a', from: 'r/a:1', to: 'r/app:v1' },
      { kind: 'pushing', digest: 'sha256:i', to: 'r/app:v1' },
    ];
    const push = vi.fn(async (_r, _o, onProgress: (e: PushEvent) => void) => {
      events.forEach(onProgress);
      throw { code: 'registryUnreachable', message: 'cannot connect to registry r' };
    });
    const session = new ComposeSession(fakeApi({ composePush: push }));
    session.tag = 'r/app:v1';
    session.sources = ['r/a:1'];
    await session.push();
    expect(session.steps).toEqual(['copying sha256:a from r/a:1 to r/app:v1', 'pushing sha256:i to r/app:v1']);
    expect(session.error?.message).toBe('cannot connect to registry r');
    expect(session.sources).toEqual(['r/a:1']);
    expect(session.pushing).toBeNull();
  });

  it('reads annotation lines and words each step as buildx does', () => {
    expect(lines(' a=b \n\n c=d')).toEqual(['a=b', 'c=d']);
    expect(stepText({ kind: 'copied', digest: 'sha256:a', to: 't', mounted: 2, uploaded: 0 })).toBe(
      'copied sha256:a to t (2 blobs mounted, 0 uploaded)',
    );
  });
});
