import { describe, expect, it, vi } from 'vitest';
import type { Comparison, Page } from '../types';
import { provenanceAttestation, singleImage, threePlatforms } from './fixtures';
import { ImagesSession, PagedList, type ImagesApi } from './session.svelte';

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const names = (prefix: string, from: number, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${String(from + i).padStart(4, '0')}`);

/** A catalog of `total` repositories served `size` at a time after `last`, like the registry. */
function catalog(total: number, size = 100) {
  const all = names('repo', 0, total);
  return vi.fn(async (_registry: string, last: string | null): Promise<Page> => {
    const start = last === null ? 0 : all.indexOf(last) + 1;
    const items = all.slice(start, start + size);
    return { items, next: start + size < all.length ? items[items.length - 1] : null };
  });
}

function fakeApi(overrides: Partial<ImagesApi> = {}) {
  let ids = 0;
  const api: ImagesApi = {
    newOperationId: () => `op-${++ids}`,
    cancelOperation: vi.fn(async () => true),
    listRegistries: vi.fn(async () => ({ registries: [], problem: null })),
    addRegistry: vi.fn(async (name: string, plainHttp: boolean | null) => ({
      registries: [{ name, plainHttp: plainHttp ?? true, source: 'user' as const }],
      problem: null,
    })),
    removeRegistry: vi.fn(async () => ({ registries: [], problem: null })),
    listEngineRepositories: vi.fn(async () => ({ items: ['app', 'tools/base'], next: null })),
    listEngineTags: vi.fn(async () => ({ items: ['dev', 'latest'], next: null })),
    inspectEngineImage: vi.fn(async () => singleImage()),
    listRepositories: catalog(250),
    listTags: vi.fn(async () => ({ items: ['1', '2'], next: null })),
    inspectImage: vi.fn(async () => threePlatforms()),
    comparePlatforms: vi.fn(async () => ({ fields: [], layers: [], history: [], sizeDifference: 0 })),
    recordAttestation: vi.fn(async (_source, buildRef: string) => ({
      buildRef,
      buildName: 'app',
      platform: null,
      attestation: provenanceAttestation(),
      raw: '{"buildType": "https://mobyproject.org/buildkit@v1"}',
    })),
    ...overrides,
  };
  return api;
}

describe('PagedList', () => {
  it('loads pages as the window nears the end, never two at once', async () => {
    const api = fakeApi();
    const list = new PagedList(api);
    await list.reset('repositories', (last, op) => api.listRepositories('r', last, op));
    expect(list.pages.items.length).toBe(100);
    list.need(20);
    expect(list.loading).toBeNull();
    list.need(90);
    list.need(95);
    expect(list.loading?.id).toBeTruthy();
    await vi.waitFor(() => expect(list.loading).toBeNull());
    expect(list.pages.items.length).toBe(200);
    expect(api.listRepositories).toHaveBeenCalledTimes(2);
    expect(api.listRepositories).toHaveBeenLastCalledWith('r', 'repo0099', 'op-2');
  });

  it('with a filter, searches later pages until enough match or the list ends', async () => {
    const api = fakeApi({ listRepositories: catalog(2000) });
    const list = new PagedList(api);
    await list.reset('repositories', (last, op) => api.listRepositories('r', last, op));
    list.filter = 'repo19';
    expect(list.shown).toEqual([]);
    for (let i = 0; i < 30 && !list.pages.complete; i++) {
      list.need(list.shown.length);
      await vi.waitFor(() => expect(list.loading).toBeNull(), { interval: 1 });
    }
    expect(list.pages.complete).toBe(true);
    expect(list.shown.length).toBe(100);
    expect(list.shown[0]).toBe('repo1900');
  });

  it('keeps the error beside the list and retries from where it stopped', async () => {
    const failing = vi.fn(async (): Promise<Page> => Promise.reject({ code: 'authRequired', message: 'log in' }));
    const api = fakeApi();
    const list = new PagedList(api);
    await list.reset('repositories', failing);
    expect(list.error?.code).toBe('authRequired');
    list.need(0);
    expect(failing).toHaveBeenCalledTimes(1);
    const ok = vi.fn(async () => ({ items: ['a'], next: null }));
    await list.reset('repositories', ok);
    expect(list.error).toBeNull();
    expect(list.pages.items).toEqual(['a']);
  });

  it('cancels by operation id and drops the overtaken answer', async () => {
    const slow = deferred<Page>();
    const api = fakeApi();
    const list = new PagedList(api);
    void list.reset('first', () => slow.promise);
    const id = list.loading!.id;
    await list.cancel();
    expect(api.cancelOperation).toHaveBeenCalledWith(id);
    await list.reset('second', async () => ({ items: ['b'], next: null }));
    slow.resolve({ items: ['stale'], next: null });
    await Promise.resolve();
    expect(list.pages.items).toEqual(['b']);
    expect(list.subject).toBe('second');
  });
});

describe('ImagesSession', () => {
  it('adds a registry, selects it and lists its repositories, then tags, then opens a tag', async () => {
    const api = fakeApi();
    const s = new ImagesSession(api);
    expect(await s.addRegistry('127.0.0.1:5055', null)).toBe(true);
    expect(api.addRegistry).toHaveBeenCalledWith('127.0.0.1:5055', null);
    expect(s.registry).toBe('127.0.0.1:5055');
    await vi.waitFor(() => expect(s.repositories.pages.pages).toBe(1));
    await s.selectRepository('e2e/images-view');
    expect(api.listTags).toHaveBeenCalledWith('127.0.0.1:5055', 'e2e/images-view', null, expect.any(String));
    expect(s.tags.pages.items).toEqual(['1', '2']);
    await s.selectTag('2');
    expect(api.inspectImage).toHaveBeenCalledWith('127.0.0.1:5055/e2e/images-view:2', expect.any(String));
    expect(s.inspection?.platforms.length).toBe(3);
    expect(s.selected?.platform).toBe('linux/amd64');
    expect(s.referenceText).toBe('127.0.0.1:5055/e2e/images-view:2');
  });

  it('shows the add error and keeps the list', async () => {
    const api = fakeApi({ addRegistry: vi.fn(async () => Promise.reject({ code: 'invalidInput', message: 'not a host' })) });
    const s = new ImagesSession(api);
    expect(await s.addRegistry('https://x', true)).toBe(false);
    expect(s.addError?.message).toBe('not a host');
    expect(s.registry).toBeNull();
  });

  it("browses the engine's own images and opens one from the engine, not a registry", async () => {
    const api = fakeApi();
    const s = new ImagesSession(api);
    await s.addRegistry('127.0.0.1:5055', null);
    await s.selectEngine();
    expect(s.engine).toBe(true);
    expect(s.registry).toBeNull();
    expect(s.repositories.pages.items).toEqual(['app', 'tools/base']);
    expect(s.repositories.pages.complete).toBe(true);
    await s.selectRepository('tools/base');
    expect(api.listEngineTags).toHaveBeenCalledWith('tools/base', expect.any(String));
    await s.selectTag('dev');
    expect(api.inspectEngineImage).toHaveBeenCalledWith('tools/base:dev', expect.any(String));
    expect(api.inspectImage).not.toHaveBeenCalled();
    expect(s.openedFrom).toBe('engine');
    expect(s.inspection?.platforms.length).toBe(1);

    // A failed open from the engine is retried against the engine; picking a registry leaves it.
    vi.mocked(api.inspectEngineImage).mockRejectedValueOnce({ code: 'notFound', message: 'no image tools/base:dev' });
    await s.retryOpen();
    expect(s.inspectError?.message).toBe('no image tools/base:dev');
    await s.retryOpen();
    expect(api.inspectEngineImage).toHaveBeenCalledTimes(3);
    expect(s.inspection).not.toBeNull();
    await s.selectRegistry('127.0.0.1:5055');
    expect(s.engine).toBe(false);
  });

  it('removing the selected registry clears its repositories and tags', async () => {
    const api = fakeApi();
    const s = new ImagesSession(api);
    await s.addRegistry('127.0.0.1:5055', null);
    await vi.waitFor(() => expect(s.repositories.pages.pages).toBe(1));
    await s.selectRepository('repo-001');
    await s.removeRegistry('127.0.0.1:5055');
    expect(api.removeRegistry).toHaveBeenCalledWith('127.0.0.1:5055');
    expect(s.registries?.registries).toEqual([]);
    expect(s.registry).toBeNull();
    expect(s.repositories.pages.items).toEqual([]);
    expect(s.tags.pages.items).toEqual([]);
  });

  it('a refused removal is shown and the list stays', async () => {
    const api = fakeApi({
      removeRegistry: vi.fn(async () => Promise.reject({ code: 'notFound', message: 'ghcr.io is not in the added registries' })),
    });
    const s = new ImagesSession(api);
    await s.addRegistry('ghcr.io', false);
    await s.removeRegistry('ghcr.io');
    expect(s.registriesError?.message).toBe('ghcr.io is not in the added registries');
    expect(s.registries?.registries.map((r) => r.name)).toEqual(['ghcr.io']);
    expect(s.registry).toBe('ghcr.io');
  });

  it('opens any reference; a later open wins over a slower earlier one', async () => {
    const first = deferred<ReturnType<typeof threePlatforms>>();
    const api = fakeApi({
      inspectImage: vi.fn(async (ref: string) => (ref === 'slow' ? first.promise : singleImage())),
    });
    const s = new ImagesSession(api);
    void s.open('slow');
    expect(s.inspecting?.text).toBe('Inspecting slow');
    await s.open(' alpine ');
    expect(api.cancelOperation).toHaveBeenCalledWith('op-1');
    first.resolve(threePlatforms());
    await Promise.resolve();
    expect(s.inspection?.kind).toBe('image');
    expect(s.opened).toBe('alpine');
    expect(s.inspecting).toBeNull();
  });

  it('keeps an inspect error for Retry', async () => {
    let fail = true;
    const api = fakeApi({
      inspectImage: vi.fn(async () => (fail ? Promise.reject({ code: 'registryUnreachable', message: 'refused' }) : threePlatforms())),
    });
    const s = new ImagesSession(api);
    await s.open('127.0.0.1:1/x:y');
    expect(s.inspectError?.code).toBe('registryUnreachable');
    expect(s.inspection).toBeNull();
    fail = false;
    await s.retryOpen();
    expect(s.inspectError).toBeNull();
    expect(s.inspection).not.toBeNull();
  });

  it('an attestation badge opens its platform on the attestations tab', async () => {
    const s = new ImagesSession(fakeApi());
    await s.open('x');
    const arm = s.inspection!.platforms[2];
    s.choose(arm.key, 'attestations');
    expect(s.selected?.platform).toBe('linux/arm/v7');
    expect(s.detail).toBe('attestations');
  });

  it('compares two platforms, then the same platform of another tag', async () => {
    const api = fakeApi();
    const s = new ImagesSession(api);
    await s.open('a:1');
    const [amd, arm] = s.inspection!.platforms;
    await s.startCompare();
    expect(s.tab).toBe('compare');
    expect(api.comparePlatforms).toHaveBeenLastCalledWith(amd, arm);
    expect(s.comparison).not.toBeNull();
    await s.setCompare(arm.digest, { source: 'this', digest: amd.digest });
    expect(api.comparePlatforms).toHaveBeenLastCalledWith(arm, amd);
    await s.openOther('a:2');
    expect(s.compareRight?.source).toBe('other');
    expect(s.rightImage?.platform).toBe('linux/arm64');
    expect(api.comparePlatforms).toHaveBeenCalledTimes(3);
  });

  it('keeps the newest comparison and the newest other reference when answers cross', async () => {
    const slowComparison = deferred<Comparison>();
    const slowOther = deferred<ReturnType<typeof threePlatforms>>();
    const api = fakeApi();
    const s = new ImagesSession(api);
    await s.open('a:1');
    const [amd, arm] = s.inspection!.platforms;
    vi.mocked(api.comparePlatforms).mockImplementationOnce(() => slowComparison.promise);
    const first = s.startCompare();
    await s.setCompare(arm.digest, { source: 'this', digest: amd.digest });
    slowComparison.resolve({ fields: [], layers: [], history: [], sizeDifference: 42 });
    await first;
    expect(s.comparison?.sizeDifference).toBe(0);

    vi.mocked(api.inspectImage).mockImplementationOnce(() => slowOther.promise);
    const stale = s.openOther('a:slow');
    await s.openOther('a:2');
    slowOther.resolve(singleImage());
    await stale;
    expect(s.otherText).toBe('a:2');
    expect(s.other?.kind).toBe('index');
    expect(s.otherLoading).toBeNull();
  });

  it('a new reference drops the comparison', async () => {
    const s = new ImagesSession(fakeApi());
    await s.open('a:1');
    await s.startCompare();
    await s.open('b');
    expect(s.comparison).toBeNull();
    expect(s.compareLeft).toBeNull();
  });
});

describe('attestations of a build record', () => {
  it('opens a pushed build’s image on the attestations of the platform the record names', async () => {
    const api = fakeApi();
    const session = new ImagesSession(api);
    session.detail = 'layers';
    await session.openAttestations('127.0.0.1:5055/e2e/images-view@sha256:' + '9'.repeat(64), 'linux/arm64');
    expect(session.selected?.platform).toBe('linux/arm64');
    expect(session.detail).toBe('attestations');
    // No platform named: the first one with attestations.
    await session.openAttestations('127.0.0.1:5055/e2e/images-view@sha256:' + '9'.repeat(64), null);
    expect(session.selected?.platform).toBe('linux/amd64');
  });

  it('reads one never pushed from where the record lives, and a registry image opened after puts it away', async () => {
    const api = fakeApi();
    const session = new ImagesSession(api);
    const source = { kind: 'bundle', path: '/tmp/b.dockerbuild' } as const;
    await session.openRecordAttestation(source, 'r1', 'sha256:p');
    expect(api.recordAttestation).toHaveBeenCalledWith(source, 'r1', 'sha256:p');
    expect(session.recorded?.source).toEqual(source);
    expect(session.recorded?.attestation.attestation.statements[0].predicateType).toBe('https://slsa.dev/provenance/v0.2');
    expect(session.inspection).toBeNull();
    await session.open('127.0.0.1:5055/e2e/images-view:42');
    expect(session.recorded).toBeNull();
  });

  it('says why a record’s attestation could not be read', async () => {
    const api = fakeApi({ recordAttestation: vi.fn(async () => Promise.reject({ code: 'notFound', message: 'build r1 has no attachment x' })) });
    const session = new ImagesSession(api);
    await session.openRecordAttestation({ kind: 'builder', builder: '' }, 'r1', 'x');
    expect(session.recordedError?.code).toBe('notFound');
    expect(session.recordedLoading).toBe(false);
  });
});
