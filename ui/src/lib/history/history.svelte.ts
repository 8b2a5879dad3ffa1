// The builder's build history as the Build view lists it: every record each node's BuildKit keeps,
// kept up to date from the core's event batches (keyed by node and ref: buildx gives every node of
// one build the same ref), running builds first, then newest first, as `docker buildx history ls`
// orders them; the nodes that cannot be read; pin and delete. It calls the core only through
// ipc.ts functions handed in.
import type * as Ipc from '../ipc';
import type { AppError, BuilderHistorySupport, HistoryEntry, HistoryEvent, NodeFailure, RecordSource } from '../types';

export type HistoryApi = Pick<
  typeof Ipc,
  'newOperationId' | 'watchBuildHistory' | 'historySupport' | 'cancelOperation' | 'pinBuild' | 'deleteBuild'
>;

/** Running first, then by start, newest first. */
export function historyOrder(a: HistoryEntry, b: HistoryEntry): number {
  const running = (e: HistoryEntry) => (e.status === 'running' ? 0 : 1);
  return running(a) - running(b) || (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0);
}

/** Where a record is kept: its node and its ref. */
export function recordKey(node: string, buildRef: string): string {
  return `${node}/${buildRef}`;
}

/** The records after a batch of events, in list order; the nodes that failed go to `failed`. */
export function applyEvents(
  byKey: Map<string, HistoryEntry>,
  events: readonly HistoryEvent[],
  failed: Map<string, NodeFailure> = new Map(),
): HistoryEntry[] {
  for (const event of events) {
    if (event.kind === 'deleted') byKey.delete(recordKey(event.node, event.buildRef));
    else if (event.kind === 'nodeFailed') failed.set(event.failure.node, event.failure);
    else byKey.set(recordKey(event.entry.node, event.entry.buildRef), event.entry);
  }
  return [...byKey.values()].sort(historyOrder);
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
  /** What each node's BuildKit lacks of what the view shows; null until the core answers. */
  support = $state.raw<BuilderHistorySupport | null>(null);
  /** The nodes whose records are not listed, and why. */
  failedNodes = $state.raw<NodeFailure[]>([]);
  #byKey = new Map<string, HistoryEntry>();
  #failed = new Map<string, NodeFailure>();
  #operation: string | null = null;
  #api: HistoryApi;

  constructor(api: HistoryApi) {
    this.#api = api;
  }

  /** The record `buildRef` names: on several nodes, the one listed first (the newest), as the core picks it. */
  get(buildRef: string): HistoryEntry | undefined {
    return this.entries.find((e) => e.buildRef === buildRef);
  }

  /** Node `node`'s record of `buildRef` (buildx gives every node of one build the same ref). */
  record(node: string, buildRef: string): HistoryEntry | undefined {
    return this.entries.find((e) => e.node === node && e.buildRef === buildRef);
  }

  /** The record of `buildRef` read where `source` reads: its node's when it names one (the project
   * chart of a node's record charts that node's builds), else the one listed first. */
  recordIn(source: RecordSource | null, buildRef: string): HistoryEntry | undefined {
    return source?.kind === 'builder' && source.node ? this.record(source.node, buildRef) : this.get(buildRef);
  }

  /** Watches `builder`'s history ('' = the current builder), replacing any earlier watch. */
  async watch(builder: string): Promise<void> {
    this.stop();
    const operation = this.#api.newOperationId();
    this.#operation = operation;
    this.builder = builder;
    this.#byKey = new Map();
    this.#failed = new Map();
    this.failedNodes = [];
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
      if (this.#operation !== operation) return;
      this.support = support;
      for (const failure of support.unreachable) this.#failed.set(failure.node, failure);
      this.failedNodes = [...this.#failed.values()];
    } catch {
      // The list's own call reports an unreachable builder.
    }
  }

  apply(events: readonly HistoryEvent[]): void {
    this.entries = applyEvents(this.#byKey, events, this.#failed);
    this.failedNodes = [...this.#failed.values()];
    this.loaded = true;
  }

  stop(): void {
    if (this.#operation) void this.#api.cancelOperation(this.#operation).catch(() => {});
    this.#operation = null;
  }

  async setPinned(buildRef: string, pinned: boolean): Promise<void> {
    try {
      await this.#api.pinBuild(this.builder, buildRef, pinned);
      // BuildKit sends no event for a pin: the list says it at once, on every node keeping it.
      const pinnedOn = this.entries.filter((e) => e.buildRef === buildRef);
      this.apply(pinnedOn.map((entry) => ({ kind: 'completed', entry: { ...entry, pinned } })));
      this.actionError = null;
    } catch (e) {
      this.actionError = e as AppError;
    }
  }

  async remove(buildRef: string): Promise<boolean> {
    try {
      await this.#api.deleteBuild(this.builder, buildRef);
      // The core deletes it from every node keeping it.
      const deleted = this.entries.filter((e) => e.buildRef === buildRef);
      this.apply(deleted.map((e) => ({ kind: 'deleted', node: e.node, buildRef })));
      this.actionError = null;
      return true;
    } catch (e) {
      this.actionError = e as AppError;
      return false;
    }
  }
}
