// The builder's build history as the Build view lists it: every record BuildKit keeps, kept up to
// date from the core's event batches (keyed by ref), running builds first, then newest first, as
// `docker buildx history ls` orders them; pin and delete. It calls the core only through ipc.ts
// functions handed in.
import type * as Ipc from '../ipc';
import type { AppError, HistoryEntry, HistoryEvent, HistorySupport } from '../types';

export type HistoryApi = Pick<
  typeof Ipc,
  'newOperationId' | 'watchBuildHistory' | 'historySupport' | 'cancelOperation' | 'pinBuild' | 'deleteBuild'
>;

/** Running first, then by start, newest first. */
export function historyOrder(a: HistoryEntry, b: HistoryEntry): number {
  const running = (e: HistoryEntry) => (e.status === 'running' ? 0 : 1);
  return running(a) - running(b) || (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0);
}

/** The records after a batch of events, in list order. */
export function applyEvents(byRef: Map<string, HistoryEntry>, events: readonly HistoryEvent[]): HistoryEntry[] {
  for (const event of events) {
    if (event.kind === 'deleted') byRef.delete(event.buildRef);
    else byRef.set(event.entry.buildRef, event.entry);
  }
  return [...byRef.values()].sort(historyOrder);
}

/** `3/4 steps · 50% cached`, or nothing when BuildKit counted none. */
export function stepsText(entry: HistoryEntry): string {
  if (entry.stepsTotal === 0) return '';
  const cached = Math.round((entry.stepsCached / entry.stepsTotal) * 100);
  return `${entry.stepsCompleted}/${entry.stepsTotal} steps · ${cached}% cached`;
}

/** What a row calls the build: its name, else the start of its ref. */
export function entryTitle(entry: HistoryEntry): string {
  return entry.name || entry.buildRef.slice(0, 12);
}

export class BuildHistoryList {
  entries = $state.raw<HistoryEntry[]>([]);
  /** The first batch has arrived. */
  loaded = $state(false);
  error = $state.raw<AppError | null>(null);
  /** A pin or delete that failed, shown beside the list. */
  actionError = $state.raw<AppError | null>(null);
  builder = $state('');
  /** What the builder's BuildKit lacks of what the view shows; null until the core answers. */
  support = $state.raw<HistorySupport | null>(null);
  #byRef = new Map<string, HistoryEntry>();
  #operation: string | null = null;
  #api: HistoryApi;

  constructor(api: HistoryApi) {
    this.#api = api;
  }

  get(buildRef: string): HistoryEntry | undefined {
    return this.#byRef.get(buildRef);
  }

  /** Watches `builder`'s history ('' = the current builder), replacing any earlier watch. */
  async watch(builder: string): Promise<void> {
    this.stop();
    const operation = this.#api.newOperationId();
    this.#operation = operation;
    this.builder = builder;
    this.#byRef = new Map();
    this.entries = [];
    this.loaded = false;
    this.error = null;
    this.support = null;
    void this.#learnSupport(builder, operation);
    try {
      await this.#api.watchBuildHistory(builder, operation, (events) => {
        if (this.#operation !== operation) return;
        this.apply(events);
      });
    } catch (e) {
      if (this.#operation === operation) this.error = e as AppError;
    }
  }

  /** Notes only: a builder that cannot say what it lacks still lists its history. */
  async #learnSupport(builder: string, operation: string): Promise<void> {
    try {
      const support = await this.#api.historySupport(builder);
      if (this.#operation === operation) this.support = support;
    } catch {
      // The list's own call reports an unreachable builder.
    }
  }

  apply(events: readonly HistoryEvent[]): void {
    this.entries = applyEvents(this.#byRef, events);
    this.loaded = true;
  }

  stop(): void {
    if (this.#operation) void this.#api.cancelOperation(this.#operation).catch(() => {});
    this.#operation = null;
  }

  async setPinned(buildRef: string, pinned: boolean): Promise<void> {
    try {
      await this.#api.pinBuild(this.builder, buildRef, pinned);
      const entry = this.#byRef.get(buildRef);
      // BuildKit sends no event for a pin: the list says it at once.
      if (entry) this.apply([{ kind: 'completed', entry: { ...entry, pinned } }]);
      this.actionError = null;
    } catch (e) {
      this.actionError = e as AppError;
    }
  }

  async remove(buildRef: string): Promise<boolean> {
    try {
      await this.#api.deleteBuild(this.builder, buildRef);
      this.apply([{ kind: 'deleted', buildRef }]);
      this.actionError = null;
      return true;
    } catch (e) {
      this.actionError = e as AppError;
      return false;
    }
  }
}
