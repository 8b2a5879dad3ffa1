// The app's state and the order things happen in: load contexts and builders, watch the engine,
// run long operations with progress and cancel, re-list afterwards. It calls the core only
// through the functions of ipc.ts, handed in so tests can stand in for them.
import type * as Ipc from './ipc';
import { awayEngine, type AwayEngine } from './builders';
import { cameBack } from './engine';
import { InspectState } from './inspect/inspect.svelte';
import { openImage } from './images/route';
import { Latest } from './latest';
import { applyEvent, startProgress, type OperationKind, type OperationProgress } from './progress';
import type {
  AppError,
  BuilderAction,
  BuilderList,
  ContextList,
  CreateBuilderRequest,
  EngineStatus,
  RemoveOptions,
  UseOptions,
} from './types';

export type Api = typeof Ipc;

/** What went wrong with the last action on a builder, and how to try it again. */
export interface ActionFailure {
  action: string;
  error: AppError;
  retry: (() => void) | null;
}

export class AppModel {
  contexts = $state<ContextList | null>(null);
  contextError = $state<AppError | null>(null);
  switchingContext = $state(false);

  engine = $state<EngineStatus | null>(null);
  engineError = $state<AppError | null>(null);

  list = $state<BuilderList | null>(null);
  listError = $state<AppError | null>(null);
  /** True once the first list_builders call has settled. */
  loaded = $state(false);
  listing = $state(false);

  /** Running operations by builder name. */
  operations = $state<Record<string, OperationProgress>>({});
  /** The last failed action by builder name. */
  failures = $state<Record<string, ActionFailure>>({});

  creating = $state<OperationProgress | null>(null);
  createError = $state<AppError | null>(null);

  #api: Api;
  #watches = new Latest();
  #lists = new Latest();

  constructor(api: Api) {
    this.#api = api;
  }

  async start(): Promise<void> {
    this.watchEngine();
    // Before the first list, so a change made while it is taken is not missed. A watch that cannot
    // start is the window's own fault: the uncaught-error banner says so.
    void this.#api.watchBuilders(() => void this.refresh());
    await Promise.all([this.loadContexts(), this.refresh()]);
  }

  async loadContexts(): Promise<void> {
    try {
      this.contexts = await this.#api.listContexts();
      this.contextError = null;
    } catch (e) {
      this.contextError = e as AppError;
    }
  }

  /** (Re)starts the engine watch for the selected context; statuses of earlier watches are dropped. */
  watchEngine(): void {
    const fresh = this.#watches.begin();
    this.engine = null;
    this.engineError = null;
    this.#api
      .watchEngine((status) => {
        if (!fresh()) return;
        const previous = this.engine;
        this.engine = status;
        if (cameBack(previous, status)) void this.refresh();
      })
      .catch((e: AppError) => {
        if (fresh()) this.engineError = e;
      });
  }

  async selectContext(name: string): Promise<void> {
    if (this.contexts?.selected === name) return;
    this.switchingContext = true;
    try {
      this.contexts = await this.#api.selectContext(name);
      this.contextError = null;
    } catch (e) {
      this.contextError = e as AppError;
      return;
    } finally {
      this.switchingContext = false;
    }
    this.failures = {};
    this.watchEngine();
    await this.refresh();
  }

  /** Fetches the builder list; an answer overtaken by a later request is dropped. */
  async refresh(): Promise<void> {
    const fresh = this.#lists.begin();
    this.listing = true;
    try {
      const list = await this.#api.listBuilders((partial) => {
        // Shown while the slow nodes are still asked; `listing` stays until they answer.
        if (!fresh()) return;
        this.list = partial;
        this.listError = null;
        this.loaded = true;
      });
      if (!fresh()) return;
      this.list = list;
      this.listError = null;
    } catch (e) {
      if (!fresh()) return;
      this.listError = e as AppError;
    } finally {
      if (fresh()) {
        this.listing = false;
        this.loaded = true;
      }
    }
  }

  /** The selected context's engine while it is unreachable: node states from it are unknown then. */
  get away(): AwayEngine | null {
    return awayEngine(this.engine, this.contexts?.selected ?? null);
  }

  busy(name: string): boolean {
    return name in this.operations;
  }

  dismissFailure(name: string): void {
    delete this.failures[name];
  }

  async #run(
    name: string,
    kind: OperationKind,
    work: (operation: string, onProgress: Ipc.ProgressHandler) => Promise<unknown>,
    retry: () => void,
  ): Promise<void> {
    if (this.busy(name)) return;
    const id = this.#api.newOperationId();
    this.operations[name] = startProgress(kind, name, id);
    delete this.failures[name];
    try {
      await work(id, (event) => {
        const current = this.operations[name];
        if (current && current.id === id) this.operations[name] = applyEvent(current, event);
      });
    } catch (e) {
      this.failures[name] = { action: kind, error: e as AppError, retry };
    } finally {
      delete this.operations[name];
    }
    await this.refresh();
  }

  boot(name: string): Promise<void> {
    return this.#run(name, 'boot', (op, on) => this.#api.bootBuilder(name, op, on), () => void this.boot(name));
  }

  stop(name: string): Promise<void> {
    return this.#run(name, 'stop', (op, on) => this.#api.stopBuilder(name, op, on), () => void this.stop(name));
  }

  remove(name: string, options: RemoveOptions): Promise<void> {
    return this.#run(
      name,
      'remove',
      (op, on) => this.#api.removeBuilder(name, options, op, on),
      () => void this.remove(name, options),
    );
  }

  async use(name: string, options: UseOptions): Promise<void> {
    delete this.failures[name];
    try {
      await this.#api.useBuilder(name, options);
    } catch (e) {
      this.failures[name] = { action: 'use', error: e as AppError, retry: () => void this.use(name, options) };
    }
    await this.refresh();
  }

  /** A node leaves its builder (`create --leave`); the builder's row shows why if it cannot. */
  async leave(name: string, node: string): Promise<void> {
    delete this.failures[name];
    try {
      await this.#api.leaveBuilderNode(name, node);
    } catch (e) {
      this.failures[name] = { action: 'leave', error: e as AppError, retry: () => void this.leave(name, node) };
    }
    await this.refresh();
  }

  /** Cancels a running operation by its id; the operation's own promise then reports "cancelled". */
  async cancel(operation: string): Promise<void> {
    try {
      await this.#api.cancelOperation(operation);
    } catch {
      // It ended on its own meanwhile; its own outcome is what the user sees.
    }
  }

  /** Creates a builder; resolves to its name, or null when it failed (see createError). */
  async create(request: CreateBuilderRequest): Promise<string | null> {
    if (this.creating) return null;
    const id = this.#api.newOperationId();
    this.creating = startProgress('create', request.name, id);
    this.createError = null;
    let created: string | null = null;
    try {
      created = await this.#api.createBuilder(request, id, (event) => {
        if (this.creating && this.creating.id === id) this.creating = applyEvent(this.creating, event);
      });
    } catch (e) {
      this.createError = e as AppError;
    } finally {
      this.creating = null;
    }
    // A cancelled or failed bootstrap may still have left the builder behind: show what exists.
    await this.refresh();
    return created;
  }

  clearCreateError(): void {
    this.createError = null;
  }

  /** The Inspect panel's state for a builder; a bootstrap re-lists the builders when it ends. */
  inspector(name: string): InspectState {
    return new InspectState(this.#api, name, () => void this.refresh());
  }

  /** The equivalent `docker buildx …` command line. */
  cliCommand(action: BuilderAction): Promise<string> {
    return this.#api.cliCommand(action);
  }

  /** Switches to the Images view and inspects `reference` there (how other views link to an image). */
  openImage(reference: string): void {
    openImage(reference);
  }
}
