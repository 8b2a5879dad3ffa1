// Comparing an opened build record with another of the same builder, to say why it missed the
// cache: which record to offer first, the comparison the core makes (one at a time, the newest
// asked counts, cancellable), and each reason in words. It calls the core only through the ipc.ts
// functions handed in.
import type * as Ipc from '../ipc';
import { Latest } from '../latest';
import type { AppError, BuildComparison, ComparedStep, HistoryEntry, MissReason, StepRun } from '../types';

export type CompareApi = Pick<typeof Ipc, 'newOperationId' | 'compareBuilds' | 'cancelOperation'>;

/**
 * The records `entry` can be compared with, the likeliest first: finished ones of the same build
 * (same name) started before it, newest first; then the other finished records, newest first.
 */
export function compareCandidates(entry: HistoryEntry, entries: readonly HistoryEntry[]): HistoryEntry[] {
  const others = entries.filter((e) => e.buildRef !== entry.buildRef && e.status !== 'running' && e.hasLogs);
  const newestFirst = (a: HistoryEntry, b: HistoryEntry) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0);
  const likely = (e: HistoryEntry) => (e.name === entry.name && e.createdAt < entry.createdAt ? 0 : 1);
  return [...others].sort((a, b) => likely(a) - likely(b) || newestFirst(a, b));
}

function shown(value: string | null): string {
  return value === null ? 'not set' : `"${value}"`;
}

/** `[linux/arm64 build 2/3] RUN make`, as BuildKit names the step. */
export function stepLabel(step: ComparedStep): string {
  const prefix = [step.platform, step.stage, step.position].filter((p) => p !== null).join(' ');
  return prefix ? `[${prefix}] ${step.instruction}` : step.instruction;
}

export function runWord(run: StepRun | null): string {
  switch (run) {
    case null:
      return '—';
    case 'cached':
      return 'cached';
    case 'ran':
      return 'ran';
    case 'failed':
      return 'failed';
    case 'notRun':
      return 'not run';
  }
}

/** A reason in words, as the CLI says it. */
export function reasonText(reason: MissReason): string {
  switch (reason.kind) {
    case 'noCache':
      return 'the build was told not to use the cache (--no-cache)';
    case 'newStep':
      return 'the older build had no such step';
    case 'buildArgChanged':
      return `build arg ${reason.name} changed: ${shown(reason.older)} → ${shown(reason.newer)}`;
    case 'environmentChanged':
      return `environment variable ${reason.name} changed: ${shown(reason.older)} → ${shown(reason.newer)}`;
    case 'instructionChanged':
      return `the instruction changed: "${reason.older}" → "${reason.newer}"`;
    case 'baseImageChanged':
      return `base image ${reason.image} is another image: ${reason.older} → ${reason.newer}`;
    case 'contextFilesChanged':
      return reason.source === 'context'
        ? `the files it reads from the build context changed: ${reason.paths.join(', ')}`
        : `the files it reads from local source ${reason.source} changed: ${reason.paths.join(', ')}`;
    case 'frontendAttrChanged':
      return `frontend attribute ${reason.name} changed: ${shown(reason.older)} → ${shown(reason.newer)}`;
    case 'definitionChanged':
      return `its definition changed: ${reason.parts.join(', ')}`;
    case 'dockerfileChanged':
      return `the Dockerfile (${reason.filename}) changed`;
    case 'earlierStepMissed':
      return `a step it builds on missed first: ${reason.step}${reason.dockerfileLine ? ` (line ${reason.dockerfileLine.start})` : ''}`;
    case 'notInCache':
      return 'nothing recorded differs: its cache was pruned, or made by another builder';
  }
}

export class BuildCompare {
  result = $state.raw<BuildComparison | null>(null);
  error = $state.raw<AppError | null>(null);
  busy = $state(false);
  #operation: string | null = null;
  #latest = new Latest();
  #api: CompareApi;

  constructor(api: CompareApi) {
    this.#api = api;
  }

  /** Compares two records of `builder` (in either order: the core puts the older first). */
  async run(builder: string, first: string, second: string): Promise<void> {
    this.cancel();
    const fresh = this.#latest.begin();
    const operation = this.#api.newOperationId();
    this.#operation = operation;
    this.result = null;
    this.error = null;
    this.busy = true;
    try {
      const result = await this.#api.compareBuilds(builder, first, second, operation);
      if (fresh()) this.result = result;
    } catch (e) {
      if (fresh()) this.error = e as AppError;
    } finally {
      if (fresh()) {
        this.busy = false;
        this.#operation = null;
      }
    }
  }

  /** Stops a comparison under way; what was shown before goes. */
  cancel(): void {
    this.#latest.drop();
    if (this.#operation) void this.#api.cancelOperation(this.#operation);
    this.#operation = null;
    this.busy = false;
  }

  clear(): void {
    this.cancel();
    this.result = null;
    this.error = null;
  }
}
