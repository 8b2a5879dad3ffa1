import { describe, expect, it, vi } from 'vitest';
import type { ExportProgress } from '../types';
import { BundleExport, exportFraction, OpenedBundles, type BundleApi } from './bundle.svelte';
import { BuildSide } from './side.svelte';
import { entry } from './testEntries';

function fakeApi() {
  let report: (p: ExportProgress) => void = () => {};
  let finish: () => void = () => {};
  const api = {
    newOperationId: () => 'op-1',
    cancelOperation: vi.fn<BundleApi['cancelOperation']>(async () => true),
    exportBuilds: vi.fn<BundleApi['exportBuilds']>((_builder, refs, _all, path, _op, onProgress) => {
      report = onProgress;
      return new Promise((resolve) => {
        finish = () => resolve({ path, buildRefs: refs.length ? refs : ['a', 'b'], bytes: 2048 });
      });
    }),
    openBundle: vi.fn<BundleApi['openBundle']>(async (path) => ({ path, entries: [entry('b'), entry('a')] })),
  };
  return { api, report: (p: ExportProgress) => report(p), finish: () => finish() };
}

const progress = (bytesWritten: number, bytesTotal: number): ExportProgress => ({
  records: 2,
  blobsWritten: 1,
  blobsTotal: 4,
  bytesWritten,
  bytesTotal,
});

describe('exporting to a .dockerbuild file', () => {
  it('exports the refs given, or every record when none are, and shows progress then where it went', async () => {
    const { api, report, finish } = fakeApi();
    const job = new BundleExport(api);
    job.path = ' /tmp/b.dockerbuild ';
    const done = job.start('builder-1', []);
    expect(api.exportBuilds).toHaveBeenCalledWith('builder-1', [], true, '/tmp/b.dockerbuild', 'op-1', expect.any(Function));
    expect(job.running).toBe(true);
    report(progress(512, 2048));
    expect(exportFraction(job.progress)).toBe(0.25);
    finish();
    await done;
    expect(job.running).toBe(false);
    expect(job.done?.buildRefs).toEqual(['a', 'b']);

    void job.start('builder-1', ['x']);
    expect(api.exportBuilds).toHaveBeenLastCalledWith('builder-1', ['x'], false, '/tmp/b.dockerbuild', 'op-1', expect.any(Function));
    expect(job.done).toBeNull();
  });

  it('cancels through the core and shows its error', async () => {
    const { api } = fakeApi();
    api.exportBuilds.mockRejectedValueOnce({ code: 'cancelled', message: 'export cancelled' });
    const job = new BundleExport(api);
    job.path = '/tmp/b.dockerbuild';
    const done = job.start('', ['x']);
    job.cancel();
    expect(api.cancelOperation).toHaveBeenCalledWith('op-1');
    await done;
    expect(job.error?.code).toBe('cancelled');
    expect(job.running).toBe(false);
  });

  it('has no fraction before the first report or with nothing to write', () => {
    expect(exportFraction(null)).toBeNull();
    expect(exportFraction(progress(0, 0))).toBeNull();
  });
});

describe('opening a .dockerbuild file', () => {
  it('lists its builds read-only until closed', async () => {
    const { api } = fakeApi();
    const bundles = new OpenedBundles(api);
    bundles.path = '/tmp/b.dockerbuild';
    await bundles.open();
    expect(bundles.opened).toBe('/tmp/b.dockerbuild');
    expect(bundles.entries.map((e) => e.buildRef)).toEqual(['b', 'a']);
    expect(bundles.get('a')?.buildRef).toBe('a');
    bundles.close();
    expect(bundles.opened).toBeNull();
    expect(bundles.entries).toEqual([]);
    expect(bundles.path).toBe('/tmp/b.dockerbuild');
  });

  it('shows why a file cannot be opened and keeps what was listed', async () => {
    const { api } = fakeApi();
    const bundles = new OpenedBundles(api);
    bundles.path = '/tmp/b.dockerbuild';
    await bundles.open();
    api.openBundle.mockRejectedValueOnce({ code: 'malformed', message: '/tmp/x is not a .dockerbuild bundle' });
    bundles.path = '/tmp/x';
    await bundles.open();
    expect(bundles.error?.code).toBe('malformed');
    expect(bundles.opened).toBe('/tmp/b.dockerbuild');
  });
});

describe('the Build view’s side', () => {
  it('names an opened file’s build with the file as where to read it', async () => {
    const { api } = fakeApi();
    const side = new BuildSide(api);
    expect(side.shown).toBe('form');
    side.bundles.path = '/tmp/b.dockerbuild';
    expect(side.bundleRecord('a')).toBeNull();
    await side.bundles.open();
    expect(side.bundleRecord('a')).toEqual({ entry: entry('a'), source: { kind: 'bundle', path: '/tmp/b.dockerbuild' } });
    expect(side.bundleRecord('missing')).toBeNull();
  });
});
