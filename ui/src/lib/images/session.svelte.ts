// The Images view's state and the order things happen in: registries, their repositories and
// tags page by page, the inspected reference, the selected platform and compare mode. Every
// registry call is a long operation with an id (Cancel) and its own error beside it (Retry).
// It calls the core only through the ipc.ts functions handed in, so tests can stand in for them.
import type * as Ipc from '../ipc';
import { Latest } from '../latest';
import type { AppError, Comparison, Inspection, Page, PlatformImage, RecordAttestation, RecordSource, RegistryList } from '../types';
import { counterpart, defaultPair } from './compare';
import { selectedPlatform } from './inspector';
import { appendPage, filterItems, noPages, wantsMore, type Pages } from './paging';
import { tagReference } from './registries';

export type ImagesApi = Pick<
  typeof Ipc,
  | 'newOperationId'
  | 'cancelOperation'
  | 'listRegistries'
  | 'addRegistry'
  | 'removeRegistry'
  | 'listEngineRepositories'
  | 'listEngineTags'
  | 'inspectEngineImage'
  | 'listRepositories'
  | 'listTags'
  | 'inspectImage'
  | 'comparePlatforms'
  | 'recordAttestation'
>;

/** A running registry call. */
export interface Pending {
  id: string;
  text: string;
  /** Date.now() when it started, for the elapsed time. */
  started: number;
}

type Fetcher = (last: string | null, operation: string) => Promise<Page>;

async function cancelQuietly(api: ImagesApi, pending: Pending | null): Promise<void> {
  if (!pending) return;
  try {
    await api.cancelOperation(pending.id);
  } catch {
    // It ended on its own meanwhile; its own outcome is what the user sees.
  }
}

/** A catalog or tag list: pages on demand, a filter over what arrived, one call at a time. */
export class PagedList {
  pages = $state<Pages>(noPages());
  filter = $state('');
  loading = $state<Pending | null>(null);
  error = $state<AppError | null>(null);
  /** What is listed, e.g. "repositories of 127.0.0.1:5055"; null before anything is. */
  subject = $state<string | null>(null);
  readonly shown = $derived(filterItems(this.pages.items, this.filter));

  #api: ImagesApi;
  #fetch: Fetcher | null = null;
  #pageAnswers = new Latest();

  constructor(api: ImagesApi) {
    this.#api = api;
  }

  /** Starts listing anew with `fetch`; answers to earlier lists are dropped. */
  reset(subject: string, fetch: Fetcher): Promise<void> {
    void cancelQuietly(this.#api, this.loading);
    this.#pageAnswers.drop();
    this.#fetch = fetch;
    this.subject = subject;
    this.pages = noPages();
    this.filter = '';
    this.loading = null;
    this.error = null;
    return this.more();
  }

  clear(): void {
    void cancelQuietly(this.#api, this.loading);
    this.#pageAnswers.drop();
    this.#fetch = null;
    this.subject = null;
    this.pages = noPages();
    this.filter = '';
    this.loading = null;
    this.error = null;
  }

  /** Fetches the next page, unless one is on its way or the list is complete. */
  async more(): Promise<void> {
    const fetch = this.#fetch;
    if (!fetch || this.loading || this.pages.complete) return;
    const fresh = this.#pageAnswers.begin();
    const id = this.#api.newOperationId();
    this.loading = { id, text: `Listing ${this.subject ?? ''}`.trim(), started: Date.now() };
    this.error = null;
    try {
      const page = await fetch(this.pages.next, id);
      if (!fresh()) return;
      this.pages = appendPage(this.pages, page);
    } catch (e) {
      if (fresh()) this.error = e as AppError;
    } finally {
      if (fresh()) this.loading = null;
    }
  }

  /** Called as the list scrolls (and as the filter changes): fetches on when the view needs more. */
  need(windowEnd: number): void {
    if (wantsMore(this.pages, this.loading !== null, this.error !== null, windowEnd, this.shown.length, this.filter.trim() !== '')) {
      void this.more();
    }
  }

  cancel(): Promise<void> {
    return cancelQuietly(this.#api, this.loading);
  }

  retry(): Promise<void> {
    this.error = null;
    return this.more();
  }
}

export type InspectorTab = 'overview' | 'compare' | 'raw';
/** Where an opened reference lives: a registry, or the engine's own image store. */
export type ImageSource = 'registry' | 'engine';
export type DetailTab = 'config' | 'history' | 'layers' | 'attestations';

/** Compare mode: which platform on each side; the right may come from another reference. */
export interface CompareSide {
  source: 'this' | 'other';
  digest: string;
}

export class ImagesSession {
  registries = $state<RegistryList | null>(null);
  registriesError = $state<AppError | null>(null);
  addError = $state<AppError | null>(null);

  registry = $state<string | null>(null);
  /** The lists show the engine's image store (then `registry` is null). */
  engine = $state(false);
  repository = $state<string | null>(null);
  tag = $state<string | null>(null);
  readonly repositories: PagedList;
  readonly tags: PagedList;

  /** The reference box's text. */
  referenceText = $state('');
  /** The reference last opened, as typed, and where from. */
  opened = $state<string | null>(null);
  openedFrom = $state<ImageSource>('registry');
  inspection = $state<Inspection | null>(null);
  inspecting = $state<Pending | null>(null);
  inspectError = $state<AppError | null>(null);
  /** References left by following a link (a referrer), newest last: Back returns along them. */
  trail = $state<string[]>([]);

  tab = $state<InspectorTab>('overview');
  /** The chosen platform's entry key (its position in the index tree). */
  chosen = $state<string | null>(null);
  detail = $state<DetailTab>('config');
  rawKey = $state('top');

  compareLeft = $state<string | null>(null);
  compareRight = $state<CompareSide | null>(null);
  otherText = $state('');
  other = $state<Inspection | null>(null);
  otherLoading = $state<Pending | null>(null);
  otherError = $state<AppError | null>(null);
  comparison = $state<Comparison | null>(null);
  compareError = $state<AppError | null>(null);

  readonly selected = $derived(selectedPlatform(this.inspection, this.chosen));

  /** An attestation read from a build record rather than a registry (its image was never pushed). */
  recorded = $state.raw<{ source: RecordSource; attestation: RecordAttestation } | null>(null);
  recordedLoading = $state(false);
  recordedError = $state.raw<AppError | null>(null);

  #api: ImagesApi;
  #inspections = new Latest();
  #others = new Latest();
  #comparisons = new Latest();
  #recordedAnswers = new Latest();

  constructor(api: ImagesApi) {
    this.#api = api;
    this.repositories = new PagedList(api);
    this.tags = new PagedList(api);
  }

  async loadRegistries(): Promise<void> {
    try {
      this.registries = await this.#api.listRegistries();
      this.registriesError = null;
    } catch (e) {
      this.registriesError = e as AppError;
    }
  }

  /** Adds a registry and selects it; false when the core refused it (see addError). */
  async addRegistry(name: string, plainHttp: boolean | null): Promise<boolean> {
    try {
      this.registries = await this.#api.addRegistry(name, plainHttp);
      this.addError = null;
    } catch (e) {
      this.addError = e as AppError;
      return false;
    }
    const added = this.registries.registries.find((r) => r.name === name.trim().replace(/\/+$/, '').toLowerCase());
    if (added) void this.selectRegistry(added.name);
    return true;
  }

  /** Forgets an added registry; the listing it showed goes with it. */
  async removeRegistry(name: string): Promise<void> {
    try {
      this.registries = await this.#api.removeRegistry(name);
      this.registriesError = null;
    } catch (e) {
      this.registriesError = e as AppError;
      return;
    }
    if (this.registry === name) {
      this.registry = null;
      this.repository = null;
      this.tag = null;
      this.repositories.clear();
      this.tags.clear();
    }
  }

  selectRegistry(name: string): Promise<void> {
    this.registry = name;
    this.engine = false;
    this.repository = null;
    this.tag = null;
    this.tags.clear();
    return this.repositories.reset(`repositories of ${name}`, (last, op) => this.#api.listRepositories(name, last, op));
  }

  /** Lists the engine's own images (all at once: the engine does not page). */
  selectEngine(): Promise<void> {
    this.engine = true;
    this.registry = null;
    this.repository = null;
    this.tag = null;
    this.tags.clear();
    return this.repositories.reset("the engine's images", (_last, op) => this.#api.listEngineRepositories(op));
  }

  selectRepository(repository: string): Promise<void> {
    if (this.engine) {
      this.repository = repository;
      this.tag = null;
      return this.tags.reset(`tags of ${repository}`, (_last, op) => this.#api.listEngineTags(repository, op));
    }
    const registry = this.registry;
    if (!registry) return Promise.resolve();
    this.repository = repository;
    this.tag = null;
    return this.tags.reset(`tags of ${repository}`, (last, op) => this.#api.listTags(registry, repository, last, op));
  }

  selectTag(tag: string): Promise<void> {
    if (!this.repository) return Promise.resolve();
    if (this.engine) {
      this.tag = tag;
      return this.open(`${this.repository}:${tag}`, 'engine');
    }
    if (!this.registry) return Promise.resolve();
    this.tag = tag;
    return this.open(tagReference(this.registry, this.repository, tag));
  }

  /** Inspects any reference; an answer overtaken by a later open is dropped. */
  async open(reference: string, from: ImageSource = 'registry'): Promise<void> {
    const ref = reference.trim();
    if (!ref) return;
    void cancelQuietly(this.#api, this.inspecting);
    this.trail = [];
    const fresh = this.#inspections.begin();
    const id = this.#api.newOperationId();
    this.referenceText = ref;
    this.opened = ref;
    this.openedFrom = from;
    this.inspection = null;
    this.inspectError = null;
    this.resetCompare();
    this.#recordedAnswers.drop();
    this.recorded = null;
    this.recordedError = null;
    this.recordedLoading = false;
    this.inspecting = { id, text: `Inspecting ${ref}`, started: Date.now() };
    try {
      const inspection =
        from === 'engine' ? await this.#api.inspectEngineImage(ref, id) : await this.#api.inspectImage(ref, id);
      if (!fresh()) return;
      this.inspection = inspection;
      this.chosen = inspection.platforms[0]?.key ?? null;
      this.rawKey = 'top';
      if (this.tab === 'compare' && inspection.platforms.length < 2) this.tab = 'overview';
    } catch (e) {
      if (fresh()) this.inspectError = e as AppError;
    } finally {
      if (fresh()) this.inspecting = null;
    }
  }

  /**
   * Opens a pushed build's image (`name@digest`) on the attestations of `platform` (its first
   * platform that has some when none is named or found): where the registry serves what the build
   * record attached.
   */
  async openAttestations(reference: string, platform: string | null): Promise<void> {
    await this.open(reference);
    const platforms = this.inspection?.platforms ?? [];
    const target =
      platforms.find((p) => p.platform === platform && p.attestations.length) ?? platforms.find((p) => p.attestations.length);
    if (target && this.opened === reference.trim()) {
      this.tab = 'overview';
      this.choose(target.key, 'attestations');
    }
  }

  /** Shows one attachment of a build record read from where the record lives (a builder, a file). */
  async openRecordAttestation(source: RecordSource, buildRef: string, digest: string): Promise<void> {
    void cancelQuietly(this.#api, this.inspecting);
    this.#inspections.drop();
    this.resetCompare();
    this.trail = [];
    this.opened = null;
    this.inspection = null;
    this.inspectError = null;
    this.inspecting = null;
    const fresh = this.#recordedAnswers.begin();
    this.recorded = null;
    this.recordedError = null;
    this.recordedLoading = true;
    try {
      const attestation = await this.#api.recordAttestation(source, buildRef, digest);
      if (fresh()) this.recorded = { source, attestation };
    } catch (e) {
      if (fresh()) this.recordedError = e as AppError;
    } finally {
      if (fresh()) this.recordedLoading = false;
    }
  }

  /** Opens a manifest linked from the one shown (a referrer, by digest), remembering the way back. */
  follow(reference: string): Promise<void> {
    const trail = this.opened ? [...this.trail, this.opened] : this.trail;
    const opening = this.open(reference);
    this.trail = trail;
    return opening;
  }

  /** Reopens the reference the last follow left. */
  back(): Promise<void> {
    const previous = this.trail.at(-1);
    if (!previous) return Promise.resolve();
    const trail = this.trail.slice(0, -1);
    const opening = this.open(previous);
    this.trail = trail;
    return opening;
  }

  retryOpen(): Promise<void> {
    return this.open(this.opened ?? this.referenceText, this.opened ? this.openedFrom : 'registry');
  }

  cancelOpen(): Promise<void> {
    return cancelQuietly(this.#api, this.inspecting);
  }

  /** Shows a platform (by entry key) below the cards, on the given detail tab. */
  choose(key: string, detail?: DetailTab): void {
    this.chosen = key;
    if (detail) this.detail = detail;
    else if (this.detail === 'attestations' && !this.selected?.attestations.length) this.detail = 'config';
  }

  resetCompare(): void {
    this.#comparisons.drop();
    this.#others.drop();
    void cancelQuietly(this.#api, this.otherLoading);
    this.compareLeft = null;
    this.compareRight = null;
    this.other = null;
    this.otherLoading = null;
    this.otherError = null;
    this.comparison = null;
    this.compareError = null;
  }

  /** Opens compare mode on the selected platform and the next one (or the same platform of another tag). */
  startCompare(): Promise<void> {
    this.tab = 'compare';
    const inspection = this.inspection;
    if (!inspection || this.compareLeft) return this.compare();
    const pair = defaultPair(inspection, this.selected?.digest ?? null);
    this.compareLeft = pair?.[0] ?? inspection.platforms[0]?.digest ?? null;
    this.compareRight = pair ? { source: 'this', digest: pair[1] } : null;
    return this.compare();
  }

  #side(side: CompareSide | null): PlatformImage | null {
    if (!side) return null;
    const from = side.source === 'this' ? this.inspection : this.other;
    return from?.platforms.find((p) => p.digest === side.digest) ?? null;
  }

  get leftImage(): PlatformImage | null {
    return this.compareLeft ? this.#side({ source: 'this', digest: this.compareLeft }) : null;
  }

  get rightImage(): PlatformImage | null {
    return this.#side(this.compareRight);
  }

  setCompare(left: string | null, right: CompareSide | null): Promise<void> {
    this.compareLeft = left;
    this.compareRight = right;
    return this.compare();
  }

  /** Asks the core for the differences between the two chosen sides. */
  async compare(): Promise<void> {
    const left = this.leftImage;
    const right = this.rightImage;
    const fresh = this.#comparisons.begin();
    this.comparison = null;
    this.compareError = null;
    if (!left || !right) return;
    try {
      const comparison = await this.#api.comparePlatforms(left, right);
      if (fresh()) this.comparison = comparison;
    } catch (e) {
      if (fresh()) this.compareError = e as AppError;
    }
  }

  /** Inspects another reference (another tag, say) for the right side. */
  async openOther(reference: string): Promise<void> {
    const ref = reference.trim();
    if (!ref) return;
    void cancelQuietly(this.#api, this.otherLoading);
    const fresh = this.#others.begin();
    const id = this.#api.newOperationId();
    this.otherText = ref;
    this.other = null;
    this.otherError = null;
    this.otherLoading = { id, text: `Inspecting ${ref}`, started: Date.now() };
    try {
      const other = await this.#api.inspectImage(ref, id);
      if (!fresh()) return;
      this.other = other;
      const right = counterpart(other, this.leftImage?.platform ?? null);
      this.compareRight = right ? { source: 'other', digest: right.digest } : null;
    } catch (e) {
      if (fresh()) this.otherError = e as AppError;
    } finally {
      if (fresh()) this.otherLoading = null;
    }
    if (fresh() && this.other) await this.compare();
  }

  cancelOther(): Promise<void> {
    return cancelQuietly(this.#api, this.otherLoading);
  }
}
