// The Inspect panel's state for one builder: the core's inspection (`docker buildx inspect`),
// reloaded on demand; a Bootstrap that boots the nodes that are not running with progress and can
// be cancelled; an answer overtaken by a later request is dropped.
import type * as Ipc from '../ipc';
import { Latest } from '../latest';
import { applyEvent, startProgress, type OperationProgress } from '../progress';
import type { AppError, BuilderInspection } from '../types';

export type InspectApi = Pick<typeof Ipc, 'inspectBuilder' | 'newOperationId' | 'cancelOperation' | 'cliCommand'>;

/** Whether the panel offers Bootstrap: some node is not running (a node in error may boot, as buildx tries). */
export function canBootstrap(inspection: BuilderInspection | null): boolean {
  return inspection !== null && inspection.nodes.some((n) => n.node.status !== 'running');
}

export class InspectState {
  inspection = $state<BuilderInspection | null>(null);
  error = $state<AppError | null>(null);
  loading = $state(false);
  /** The running bootstrap's progress, or null. */
  booting = $state<OperationProgress | null>(null);

  #api: InspectApi;
  #name: string;
  #onBooted: () => void;
  #answers = new Latest();

  /** `onBooted` runs after a bootstrap ended, whatever the outcome (the list's statuses changed). */
  constructor(api: InspectApi, name: string, onBooted: () => void) {
    this.#api = api;
    this.#name = name;
    this.#onBooted = onBooted;
  }

  get name(): string {
    return this.#name;
  }

  async load(): Promise<void> {
    await this.#ask(false);
  }

  async bootstrap(): Promise<void> {
    if (this.booting) return;
    await this.#ask(true);
    this.#onBooted();
  }

  async cancel(): Promise<void> {
    if (!this.booting) return;
    try {
      await this.#api.cancelOperation(this.booting.id);
    } catch {
      // It ended on its own meanwhile; its own outcome is what the user sees.
    }
  }

  /** `docker buildx inspect [--bootstrap] NAME`, for Copy as CLI. */
  cliCommand(bootstrap: boolean): Promise<string> {
    return this.#api.cliCommand({ action: 'inspect', name: this.#name, bootstrap });
  }

  async #ask(bootstrap: boolean): Promise<void> {
    const fresh = this.#answers.begin();
    const id = this.#api.newOperationId();
    this.loading = true;
    this.error = null;
    if (bootstrap) this.booting = startProgress('boot', this.#name, id);
    try {
      const inspection = await this.#api.inspectBuilder(this.#name, bootstrap, id, (event) => {
        if (this.booting && this.booting.id === id) this.booting = applyEvent(this.booting, event);
      });
      if (fresh()) this.inspection = inspection;
    } catch (e) {
      if (fresh()) this.error = e as AppError;
    } finally {
      if (this.booting?.id === id) this.booting = null;
      if (fresh()) this.loading = false;
    }
  }
}
