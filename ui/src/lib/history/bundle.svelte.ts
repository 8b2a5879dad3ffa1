// `.dockerbuild` bundles in the History view: exporting records of the builder into one (a path
// typed, progress, Cancel), and opening one read-only to list, replay and inspect its builds. It
// calls the core only through ipc.ts functions handed in.
import type * as Ipc from '../ipc';
import type { AppError, ExportProgress, ExportSummary, HistoryEntry } from '../types';

export type BundleApi = Pick<typeof Ipc, 'newOperationId' | 'cancelOperation' | 'exportBuilds' | 'openBundle'>;

/** How far an export is, as a fraction of its bytes (null before the first report). */
export function exportFraction(progress: ExportProgress | null): number | null {
  if (!progress || progress.bytesTotal === 0) return null;
  return Math.min(1, progress.bytesWritten / progress.bytesTotal);
}

/** One export into a bundle: the path typed, then its progress, result or error. */
export class BundleExport {
  path = $state('');
  running = $state(false);
  progress = $state.raw<ExportProgress | null>(null);
  done = $state.raw<ExportSummary | null>(null);
  error = $state.raw<AppError | null>(null);
  #operation: string | null = null;
  #api: BundleApi;

  constructor(api: BundleApi) {
    this.#api = api;
  }

  /** Exports `refs` of `builder` ('' = the current one); no refs: every completed record. */
  async start(builder: string, refs: string[]): Promise<void> {
    if (this.running) return;
    const operation = this.#api.newOperationId();
    this.#operation = operation;
    this.running = true;
    this.progress = null;
    this.done = null;
    this.error = null;
    try {
      this.done = await this.#api.exportBuilds(builder, refs, refs.length === 0, this.path.trim(), operation, (p) => {
        if (this.#operation === operation) this.progress = p;
      });
    } catch (e) {
      this.error = e as AppError;
    } finally {
      if (this.#operation === operation) {
        this.running = false;
        this.#operation = null;
      }
    }
  }

  cancel(): void {
    if (this.#operation) void this.#api.cancelOperation(this.#operation).catch(() => {});
  }
}

/** A bundle opened read-only: its path and builds, newest first. */
export class OpenedBundles {
  path = $state('');
  /** The file whose builds are listed, once opened. */
  opened = $state<string | null>(null);
  entries = $state.raw<HistoryEntry[]>([]);
  opening = $state(false);
  error = $state.raw<AppError | null>(null);
  #api: BundleApi;

  constructor(api: BundleApi) {
    this.#api = api;
  }

  async open(): Promise<void> {
    const path = this.path.trim();
    this.opening = true;
    this.error = null;
    try {
      const bundle = await this.#api.openBundle(path);
      // Only the newest answer counts: a second Open replaced the first.
      if (this.path.trim() !== path) return;
      this.opened = bundle.path;
      this.entries = bundle.entries;
    } catch (e) {
      this.error = e as AppError;
    } finally {
      this.opening = false;
    }
  }

  /** Back to the builder's own history; the path stays typed. */
  close(): void {
    this.opened = null;
    this.entries = [];
    this.error = null;
  }

  get(buildRef: string): HistoryEntry | undefined {
    return this.entries.find((e) => e.buildRef === buildRef);
  }
}
