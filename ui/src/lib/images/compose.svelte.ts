// The "Compose index" panel's state: the sources picked (tags the view lists, or typed), the
// tags to push to, annotations, entries removed; the core's preview of the index (entries, the
// platforms each source brings, conflicts, the exact JSON, the command line) and a push with its
// steps. The core decides everything: this only keeps what the user picked and what came back.
import type * as Ipc from '../ipc';
import { Latest } from '../latest';
import type { AppError, ComposeRequest, Composition, PushEvent } from '../types';
import type { Pending } from './session.svelte';

export type ComposeApi = Pick<typeof Ipc, 'newOperationId' | 'cancelOperation' | 'composePlan' | 'composePush'>;

/** Non-empty trimmed lines (annotations, one per line). */
export function lines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}

/** A push step as one line, in buildx's words. */
export function stepText(event: PushEvent): string {
  switch (event.kind) {
    case 'copying':
      return `copying ${event.digest} from ${event.from} to ${event.to}`;
    case 'copied':
      return `copied ${event.digest} to ${event.to} (${event.mounted} blobs mounted, ${event.uploaded} uploaded)`;
    case 'pushing':
      return `pushing ${event.digest} to ${event.to}`;
    case 'pushed':
      return `pushed ${event.to}`;
  }
}

export class ComposeSession {
  sources = $state<string[]>([]);
  tag = $state('');
  annotations = $state('');
  /** Entries the user removed, by digest. */
  exclude = $state<string[]>([]);
  preview = $state<Composition | null>(null);
  previewing = $state<Pending | null>(null);
  pushing = $state<Pending | null>(null);
  steps = $state<string[]>([]);
  pushed = $state<Composition | null>(null);
  error = $state<AppError | null>(null);

  #api: ComposeApi;
  #answers = new Latest();

  constructor(api: ComposeApi) {
    this.#api = api;
  }

  request(): ComposeRequest {
    const tag = this.tag.trim();
    return {
      sources: [...this.sources],
      tags: tag ? [tag] : [],
      annotations: lines(this.annotations),
      append: false,
      preferIndex: true,
      platforms: [],
      exclude: [...this.exclude],
    };
  }

  addSource(reference: string): void {
    const r = reference.trim();
    if (r && !this.sources.includes(r)) {
      this.sources = [...this.sources, r];
      void this.refresh();
    }
  }

  removeSource(reference: string): void {
    this.sources = this.sources.filter((s) => s !== reference);
    void this.refresh();
  }

  /** Removes an entry from the index (or puts it back). */
  toggleEntry(digest: string): void {
    this.exclude = this.exclude.includes(digest) ? this.exclude.filter((d) => d !== digest) : [...this.exclude, digest];
    void this.refresh();
  }

  /** Asks the core for the index the current choices make; only the newest answer is shown. */
  async refresh(): Promise<void> {
    this.pushed = null;
    if (this.sources.length === 0) {
      this.preview = null;
      this.error = null;
      return;
    }
    const id = this.#api.newOperationId();
    const fresh = this.#answers.begin();
    if (this.previewing) void this.#api.cancelOperation(this.previewing.id).catch(() => undefined);
    this.previewing = { id, text: 'Composing the index', started: Date.now() };
    try {
      const composition = await this.#api.composePlan(this.request(), id);
      if (!fresh()) return;
      this.preview = composition;
      this.error = null;
    } catch (e) {
      if (!fresh()) return;
      this.preview = null;
      this.error = e as AppError;
    } finally {
      if (fresh()) this.previewing = null;
    }
  }

  get canPush(): boolean {
    return !!this.preview && this.preview.conflicts.length === 0 && this.tag.trim() !== '' && !this.pushing;
  }

  async push(): Promise<void> {
    const id = this.#api.newOperationId();
    this.pushing = { id, text: `Pushing to ${this.tag.trim()}`, started: Date.now() };
    this.steps = [];
    this.error = null;
    try {
      this.pushed = await this.#api.composePush(this.request(), id, (event) => {
        this.steps = [...this.steps, stepText(event)];
      });
      // What was pushed, its tag in the command line too.
      this.preview = this.pushed;
    } catch (e) {
      this.error = e as AppError;
    } finally {
      this.pushing = null;
    }
  }

  cancel(): void {
    const running = this.pushing ?? this.previewing;
    if (running) void this.#api.cancelOperation(running.id).catch(() => undefined);
  }
}
