// The Build view's state and the order things happen in: the form and what it offers (the
// builder's platforms, the Dockerfile's outline), one build at a time with its live steps and logs,
// the recent builds and re-running one. It calls the core only through ipc.ts functions handed in.
import type * as Ipc from '../ipc';
import { Latest } from '../latest';
import type {
  AppError,
  BuildOutcome,
  BuildRecord,
  BuildRequest,
  DockerfileOutline,
  HistoryEntry,
  NodePlatform,
  ProgressUpdate,
  RecordSource,
  Step,
} from '../types';
import { emptyBuildForm, fromBuildRequest, toBuildRequest, type BuildForm } from './form';
import { LogStore } from './logs';

export type BuildApi = Pick<
  typeof Ipc,
  | 'newOperationId'
  | 'startBuild'
  | 'retryPlatform'
  | 'cancelOperation'
  | 'buildCliCommand'
  | 'offeredPlatforms'
  | 'dockerfileOutline'
  | 'dockerfileSource'
  | 'recentBuilds'
  | 'buildLogs'
  | 'replayRecord'
>;

export type RunTab = 'lanes' | 'failure';

/**
 * How often a running build's view changes, in ms. Progress that arrives in between (the core sends
 * up to ten updates a second) is folded in together on the next tick, with the clock, so the window
 * redraws the build at most this often instead of once per update plus once per clock tick.
 */
export const FRAME_MS = 250;

/** One build, live or recorded: its steps as they arrive, its logs, and how it ended. */
export class BuildRun {
  readonly operation: string;
  readonly request: BuildRequest;
  /** Steps in the order the core first reported them. */
  steps = $state.raw<Step[]>([]);
  warnings = $state.raw<string[]>([]);
  outcome = $state.raw<BuildOutcome | null>(null);
  /** The command itself failed (engine gone, …): nothing to show but this. */
  error = $state.raw<AppError | null>(null);
  cancelling = $state(false);
  /** The Dockerfile's text, for step lines and the failure view; null until read (or unreadable). */
  source = $state<string | null>(null);
  /** Bumped whenever logs change, so log views redraw. */
  logVersion = $state(0);
  readonly logs = new LogStore();
  /** `performance.now()` at the last tick: what the view's running times count to. */
  clock = $state(performance.now());
  /** Ticks so far, for what moves while the build runs (the running bars' stripes, the spinner). */
  frame = $state(0);
  /** `performance.now()` at the build's time 0, learnt from the first timed step. */
  #epoch: number | null = null;
  #index = new Map<string, number>();
  /** Updates received since the last tick, with when they arrived. */
  #pending: Array<{ update: ProgressUpdate; at: number }> = [];

  constructor(operation: string, request: BuildRequest) {
    this.operation = operation;
    this.request = request;
  }

  get active(): boolean {
    return this.outcome === null && this.error === null;
  }

  /**
   * Keeps an update from the core for the next tick (see `FRAME_MS`). A channel's messages may reach
   * the page after its command's answer (a replay's large updates often do), so an update that
   * comes after the outcome adds its logs and warnings at once; the outcome's steps stay the final word.
   */
  receive(update: ProgressUpdate, localNow = performance.now()): void {
    if (!this.active) {
      if (update.logs.length) this.addLogs(update.logs);
      if (update.warnings.length) this.warnings = [...this.warnings, ...update.warnings];
      return;
    }
    this.#pending.push({ update, at: localNow });
  }

  /** Folds in what arrived since the last tick and moves the clock on: one change for the view. */
  tick(localNow = performance.now()): void {
    this.flush();
    this.clock = localNow;
    this.frame++;
  }

  /** Folds in what arrived since the last tick, if anything did. */
  flush(): void {
    if (this.#pending.length === 0) return;
    const pending = this.#pending;
    this.#pending = [];
    this.#fold(pending);
  }

  /** Folds one coalesced update in now: changed steps replace their earlier selves, logs are appended. */
  apply(update: ProgressUpdate, localNow = performance.now()): void {
    this.#fold([{ update, at: localNow }]);
  }

  #fold(updates: ReadonlyArray<{ update: ProgressUpdate; at: number }>): void {
    let next: Step[] | null = null;
    let logs = false;
    const warnings: string[] = [];
    for (const { update, at: localNow } of updates) {
      if (update.steps.length) {
        next ??= [...this.steps];
        let latest = 0;
        for (const s of update.steps) {
          const at = this.#index.get(s.id);
          if (at === undefined) {
            this.#index.set(s.id, next.length);
            next.push(s);
          } else {
            next[at] = s;
          }
          latest = Math.max(latest, s.completedMs ?? 0, s.startedMs ?? 0);
        }
        // The core's times count from the first step; keep the local clock at least that far along.
        if (latest > 0 || update.steps.some((s) => s.startedMs !== null)) {
          const epoch = localNow - latest;
          this.#epoch = this.#epoch === null ? epoch : Math.min(this.#epoch, epoch);
        }
      }
      if (update.logs.length) {
        this.logs.append(update.logs);
        logs = true;
      }
      warnings.push(...update.warnings);
    }
    if (next) this.steps = next;
    if (logs) this.logVersion++;
    if (warnings.length) this.warnings = [...this.warnings, ...warnings];
  }

  /** Milliseconds on the build's axis at local time `localNow`. */
  nowMs(localNow = performance.now()): number {
    if (!this.active) return this.outcome?.durationMs ?? 0;
    return this.#epoch === null ? 0 : Math.max(0, localNow - this.#epoch);
  }

  finish(outcome: BuildOutcome): void {
    this.flush();
    // The outcome's steps are the final word (a cancel marks the unfinished ones).
    if (outcome.steps.length) {
      this.#index = new Map(outcome.steps.map((s, i) => [s.id, i]));
      this.steps = outcome.steps;
    }
    this.outcome = outcome;
    this.cancelling = false;
  }

  fail(error: AppError): void {
    this.flush();
    this.error = error;
    this.cancelling = false;
  }

  addLogs(chunks: Parameters<LogStore['append']>[0]): void {
    this.logs.append(chunks);
    this.logVersion++;
  }
}

export class BuildSession {
  form = $state<BuildForm>(emptyBuildForm());
  /** The command rejected the form (invalidInput): shown next to it. */
  formError = $state.raw<AppError | null>(null);

  offered = $state.raw<NodePlatform[]>([]);
  offeredFor = $state<string | null>(null);
  offeredError = $state.raw<AppError | null>(null);

  outline = $state.raw<DockerfileOutline | null>(null);
  outlineError = $state.raw<AppError | null>(null);

  run = $state<BuildRun | null>(null);
  tab = $state<RunTab>('lanes');
  selectedStep = $state<string | null>(null);

  recent = $state.raw<BuildRecord[]>([]);
  recentError = $state.raw<AppError | null>(null);
  /** The recorded build shown, when it is one (its build ref). */
  showing = $state<string | null>(null);
  /** The BuildKit history record shown (or being replayed), when it is one. */
  historyEntry = $state.raw<HistoryEntry | null>(null);
  /** Where the shown history record is read from: its builder, or a `.dockerbuild` file. */
  historySource = $state.raw<RecordSource | null>(null);

  /** The `.dockerbuild` file the shown history record was read from, when it came from one. */
  get historyBundle(): string | null {
    return this.historySource?.kind === 'bundle' ? this.historySource.path : null;
  }

  #api: BuildApi;
  #offeredAnswers = new Latest();
  #outlineAnswers = new Latest();

  constructor(api: BuildApi) {
    this.#api = api;
  }

  get running(): boolean {
    return this.run?.active ?? false;
  }

  /**
   * Where the form's platform choices come from: the form's builder's own list, still being read
   * (the common platforms stand in), or unreadable (they stay in).
   */
  get offeredState(): 'reading' | 'builder' | 'unreadable' {
    if (this.offeredFor !== this.form.builder) return 'reading';
    return this.offeredError ? 'unreadable' : 'builder';
  }

  /** The platforms the builder offers, each native or emulated. */
  async loadOffered(builder: string): Promise<void> {
    const fresh = this.#offeredAnswers.begin();
    try {
      const offered = await this.#api.offeredPlatforms(builder);
      if (!fresh()) return;
      this.offered = offered;
      this.offeredFor = builder;
      this.offeredError = null;
    } catch (e) {
      if (!fresh()) return;
      this.offered = [];
      this.offeredFor = builder;
      this.offeredError = e as AppError;
    }
  }

  /**
   * Asks the form's builder for the Dockerfile's outline, for the form's target (ask again when the
   * context, Dockerfile, builder or target changes); a blank context clears it. Answers overtaken by
   * later calls are dropped.
   */
  async loadOutline(): Promise<void> {
    const fresh = this.#outlineAnswers.begin();
    const context = this.form.context.trim();
    if (context === '') {
      this.outline = null;
      this.outlineError = null;
      return;
    }
    const { builder, dockerfile, target } = this.form;
    try {
      const outline = await this.#api.dockerfileOutline(builder.trim(), context, dockerfile.trim(), target.trim());
      if (!fresh()) return;
      this.outline = outline;
      this.outlineError = null;
    } catch (e) {
      if (!fresh()) return;
      this.outline = null;
      this.outlineError = e as AppError;
    }
  }

  async loadRecent(): Promise<void> {
    try {
      this.recent = await this.#api.recentBuilds();
      this.recentError = null;
    } catch (e) {
      this.recentError = e as AppError;
    }
  }

  request(): BuildRequest {
    return toBuildRequest(this.form);
  }

  cliCommand(): Promise<string> {
    return this.#api.buildCliCommand(this.request());
  }

  /** Starts a build of the form as it is; one at a time. */
  async start(): Promise<void> {
    if (this.running) return;
    const request = this.request();
    const previous = { run: this.run, tab: this.tab, step: this.selectedStep, showing: this.showing };
    const run = new BuildRun(this.#api.newOperationId(), request);
    this.formError = null;
    this.run = run;
    this.tab = 'lanes';
    this.selectedStep = null;
    this.showing = null;
    this.historyEntry = null;
    this.historySource = null;
    void this.#readSource(run);
    // The build's one clock: progress and running times reach the view together, FRAME_MS apart.
    const ticks = setInterval(() => run.tick(), FRAME_MS);
    try {
      const outcome = await this.#api.startBuild(request, run.operation, (u) => run.receive(u));
      clearInterval(ticks);
      run.finish(outcome);
      if (this.run === run) this.tab = outcome.state === 'failed' ? 'failure' : 'lanes';
    } catch (e) {
      clearInterval(ticks);
      run.flush();
      const error = e as AppError;
      if (error.code === 'invalidInput' && run.steps.length === 0) {
        // The form is wrong: say so beside it and keep showing what was there.
        this.formError = error;
        if (this.run === run) {
          this.run = previous.run;
          this.tab = previous.tab;
          this.selectedStep = previous.step;
          this.showing = previous.showing;
        }
      } else {
        run.fail(error);
      }
    }
    await this.loadRecent();
  }

  async #readSource(run: BuildRun): Promise<void> {
    try {
      run.source = await this.#api.dockerfileSource(run.request.context, run.request.dockerfile);
    } catch {
      // Without the source the failure view shows the line number alone.
    }
  }

  async cancel(): Promise<void> {
    const run = this.run;
    if (!run?.active) return;
    run.cancelling = true;
    try {
      await this.#api.cancelOperation(run.operation);
    } catch {
      // It ended on its own meanwhile; its outcome is what the user sees.
    }
  }

  /**
   * Builds one platform of the shown build again, alone (the build kept going, or was split across
   * nodes): a new run that starts with the earlier steps and logs, which the core sends first, and
   * shows the retry as a new attempt of that platform.
   */
  async retry(platform: string): Promise<void> {
    const earlier = this.run;
    if (this.running || !earlier?.outcome) return;
    const run = new BuildRun(this.#api.newOperationId(), earlier.request);
    run.source = earlier.source;
    this.run = run;
    this.tab = 'lanes';
    this.selectedStep = null;
    this.showing = null;
    this.historyEntry = null;
    const ticks = setInterval(() => run.tick(), FRAME_MS);
    try {
      const outcome = await this.#api.retryPlatform(earlier.outcome.buildRef, platform, run.operation, (u) => run.receive(u));
      clearInterval(ticks);
      run.finish(outcome);
      if (this.run === run) this.tab = outcome.state === 'failed' ? 'failure' : 'lanes';
    } catch (e) {
      clearInterval(ticks);
      run.flush();
      run.fail(e as AppError);
    }
    await this.loadRecent();
  }

  /** Shows a recorded build (its lanes, logs and result) in place of the current one. */
  async show(record: BuildRecord): Promise<void> {
    if (this.running) return;
    const run = new BuildRun(record.outcome.buildRef, record.request);
    run.finish(record.outcome);
    this.run = run;
    this.showing = record.outcome.buildRef;
    this.historyEntry = null;
    this.historySource = null;
    this.tab = record.outcome.state === 'failed' ? 'failure' : 'lanes';
    this.selectedStep = null;
    void this.#readSource(run);
    try {
      run.addLogs(await this.#api.buildLogs(record.outcome.buildRef));
    } catch (e) {
      if (this.run === run) run.warnings = [...run.warnings, `Logs unavailable: ${(e as AppError).message}`];
    }
  }

  /**
   * Shows a record of BuildKit's history: its logs replayed into the lanes as the core reads them
   * (a running build followed to its end), then how it ended, failure first. Cancel stops the replay.
   * `source` says where it is read from: its builder (the default), or a `.dockerbuild` file.
   */
  async openHistory(
    entry: HistoryEntry,
    source: RecordSource = { kind: 'builder', builder: entry.builder, node: entry.node },
  ): Promise<void> {
    if (this.running) return;
    const run = new BuildRun(this.#api.newOperationId(), entry.request);
    this.run = run;
    this.showing = entry.buildRef;
    this.historyEntry = entry;
    this.historySource = source;
    this.tab = 'lanes';
    this.selectedStep = null;
    const ticks = setInterval(() => run.tick(), FRAME_MS);
    try {
      const receive = (u: ProgressUpdate) => run.receive(u);
      const replay = await this.#api.replayRecord(source, entry.buildRef, run.operation, receive);
      clearInterval(ticks);
      run.finish(replay.outcome);
      if (this.run === run) {
        this.historyEntry = replay.entry;
        this.tab = replay.outcome.state === 'failed' ? 'failure' : 'lanes';
      }
    } catch (e) {
      clearInterval(ticks);
      run.flush();
      run.fail(e as AppError);
    }
  }

  /** Puts a request back in the form and builds it again. */
  async rebuild(request: BuildRequest): Promise<void> {
    if (this.running) return;
    this.form = fromBuildRequest(request);
    void this.loadOutline();
    await this.start();
  }

  /** Puts a recorded build's options back in the form and builds again. */
  async rerun(record: BuildRecord): Promise<void> {
    if (this.running) return;
    this.form = fromBuildRequest(record.request);
    void this.loadOutline();
    await this.start();
  }

  /** Back to the empty view: the shown build (not a running one, which keeps its view) is put away. */
  close(): void {
    if (this.running) return;
    this.run = null;
    this.showing = null;
    this.historyEntry = null;
    this.historySource = null;
    this.selectedStep = null;
    this.tab = 'lanes';
  }

  selectStep(id: string | null): void {
    this.selectedStep = id;
  }
}
