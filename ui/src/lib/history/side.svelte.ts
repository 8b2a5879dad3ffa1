// The Build view's left side as the user left it: the form or the history, and the `.dockerbuild`
// file opened there with its builds. The app holds one for the window's life, so switching to
// another view and back finds the history, the opened file and its selected build as they were.
import type { HistoryEntry, RecordSource } from '../types';
import { OpenedBundles, type BundleApi } from './bundle.svelte';

export type BuildSideShown = 'form' | 'history';

export class BuildSide {
  shown = $state<BuildSideShown>('form');
  readonly bundles: OpenedBundles;

  constructor(api: BundleApi) {
    this.bundles = new OpenedBundles(api);
  }

  /** The opened file's build `buildRef` and the file as its source; null when none is open or it holds no such build. */
  bundleRecord(buildRef: string): { entry: HistoryEntry; source: RecordSource } | null {
    const path = this.bundles.opened;
    const entry = this.bundles.get(buildRef);
    return path && entry ? { entry, source: { kind: 'bundle', path } } : null;
  }
}
