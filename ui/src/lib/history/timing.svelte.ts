// A build record's Timing panel: where its time went and its project's builds, as the core computed
// them (read together, cancellable, only the newest answer kept), and the charts' geometry from
// those numbers: bar widths, the parallelism chart's stacked areas, the project chart's bars, in
// each SVG's own units. Nothing here decides what a number is; it only places it.
import { formatDuration } from '../build/lanes';
import type * as Ipc from '../ipc';
import { Latest } from '../latest';
import type { AppError, BuildTiming, OperationKind, ProjectHistory, RecordSource, Timings } from '../types';

export type TimingApi = Pick<typeof Ipc, 'newOperationId' | 'buildTiming' | 'projectHistory' | 'cancelOperation'>;

/** Docker Desktop's names for the kinds of operation, in its legend's words. */
export const KIND_LABEL: Record<OperationKind, string> = {
  localTransfer: 'Local file transfers',
  file: 'File operations',
  imagePull: 'Image pulls',
  exec: 'Executions',
  http: 'HTTP',
  git: 'Git',
  export: 'Result exports',
  sbom: 'SBOM',
  other: 'Frontend and internal',
};

/** One hue and saturation per kind, kept apart from one another; the frontend's own work is grey. */
const KIND_COLOUR: Record<OperationKind, [number, number]> = {
  localTransfer: [176, 55],
  file: [38, 85],
  imagePull: [268, 55],
  exec: [214, 72],
  http: [328, 60],
  git: [10, 72],
  export: [138, 48],
  sbom: [72, 55],
  other: [210, 10],
};

/** The kind's colour as the `--kind` custom property, set on whatever draws the kind. */
export function kindStyle(kind: OperationKind): string {
  const [hue, saturation] = KIND_COLOUR[kind];
  return `--kind: hsl(${hue} ${saturation}% 52%)`;
}

const round = (n: number) => Math.round(n * 100) / 100;

export interface KindRow {
  kind: OperationKind;
  label: string;
  steps: number;
  cached: number;
  realMs: number;
  accumulatedMs: number;
  /** Bar lengths in percent of the longest of the build's duration and any kind's accumulated time. */
  realPct: number;
  accumulatedPct: number;
}

/** One row per kind: its real time beside its accumulated time, on one scale. */
export function kindRows(timing: BuildTiming): KindRow[] {
  const scale = Math.max(1, timing.durationMs, ...timing.kinds.map((k) => k.accumulatedMs));
  return timing.kinds.map((k) => ({
    kind: k.kind,
    label: KIND_LABEL[k.kind],
    steps: k.steps,
    cached: k.cached,
    realMs: k.realMs,
    accumulatedMs: k.accumulatedMs,
    realPct: round((k.realMs / scale) * 100),
    accumulatedPct: round((k.accumulatedMs / scale) * 100),
  }));
}

export interface CacheSegment {
  kind: OperationKind;
  label: string;
  cached: number;
  run: number;
  /** Where the kind's part of the bar starts, and its cached then run parts, in percent of every step. */
  leftPct: number;
  cachedPct: number;
  runPct: number;
}

/** The cache usage bar: every step, kind by kind, cached ones first. */
export function cacheSegments(timing: BuildTiming): CacheSegment[] {
  const total = Math.max(1, timing.cache.steps);
  let before = 0;
  return timing.kinds.map((k) => {
    const segment = {
      kind: k.kind,
      label: KIND_LABEL[k.kind],
      cached: k.cached,
      run: k.steps - k.cached,
      leftPct: round((before / total) * 100),
      cachedPct: round((k.cached / total) * 100),
      runPct: round(((k.steps - k.cached) / total) * 100),
    };
    before += k.steps;
    return segment;
  });
}

/**
 * `5 of 5 Dockerfile steps cached (100%)` (FROM, resolved again each build, is not among them), or
 * of every step when none is an instruction.
 */
export function cacheText(timing: BuildTiming): string {
  const c = timing.cache;
  if (c.instructionsPercent === null) return `${c.cachedSteps} of ${c.steps} steps cached`;
  return `${c.cachedInstructions} of ${c.instructions} Dockerfile steps cached (${c.instructionsPercent}%)`;
}

export interface ParallelismChart {
  /** Per kind, a polygon's points: how many of its steps ran on average, stacked on the kinds before it. */
  areas: { kind: OperationKind; points: string }[];
  /** A step line of the most steps running at one instant, bucket by bucket. */
  maxLine: string;
  /** The top of the scale: the most steps that ran at once (at least one). */
  yMax: number;
}

/** The parallelism chart in a `width` × `height` box, time left to right. */
export function parallelismChart(timing: BuildTiming, width: number, height: number): ParallelismChart {
  const yMax = Math.max(1, timing.maxParallelism);
  const x = (ms: number) => round((ms / Math.max(1, timing.durationMs)) * width);
  const y = (n: number) => round(height - (n / yMax) * height);
  const stacked = timing.parallelism.map(() => 0);
  const areas = timing.kinds.map((k, i) => {
    const top: string[] = [];
    const bottom: string[] = [];
    timing.parallelism.forEach((bucket, j) => {
      const length = Math.min(timing.bucketMs, timing.durationMs - bucket.startMs);
      const [x0, x1] = [x(bucket.startMs), x(bucket.startMs + length)];
      const low = stacked[j];
      const high = low + (length > 0 ? (bucket.busyMs[i] ?? 0) / length : 0);
      top.push(`${x0},${y(high)} ${x1},${y(high)}`);
      bottom.unshift(`${x1},${y(low)} ${x0},${y(low)}`);
      stacked[j] = high;
    });
    return { kind: k.kind, points: [...top, ...bottom].join(' ') };
  });
  const maxLine = timing.parallelism
    .map((b) => `${x(b.startMs)},${y(b.max)} ${x(Math.min(b.startMs + timing.bucketMs, timing.durationMs))},${y(b.max)}`)
    .join(' ');
  return { areas, maxLine, yMax };
}

export interface ProjectBar {
  buildRef: string;
  status: string;
  /** The record open beside the chart. */
  current: boolean;
  x: number;
  width: number;
  /** The bar's top: its duration on the chart's scale. */
  y: number;
  title: string;
}

export interface ProjectChart {
  bars: ProjectBar[];
  /** The cached share, a point per build with steps, 0% at the bottom and 100% at the top. */
  cacheLine: string;
  cacheDots: { buildRef: string; x: number; y: number }[];
  /** The longest duration: the top of the scale. */
  maxMs: number;
}

/** The widest a project chart's bar gets, in the chart's units, however few the builds. */
const BAR_MAX = 40;

/** The project's builds oldest to newest: a bar of each one's duration and a line of its cached share. */
export function projectChart(history: ProjectHistory, current: string, width: number, height: number): ProjectChart {
  const maxMs = Math.max(1, ...history.builds.map((b) => b.durationMs ?? 0));
  const slot = width / Math.max(1, history.builds.length);
  const barWidth = Math.min(slot * 0.7, BAR_MAX);
  const bars = history.builds.map((b, i) => ({
    buildRef: b.buildRef,
    status: b.status,
    current: b.buildRef === current,
    x: round(i * slot + (slot - barWidth) / 2),
    width: round(barWidth),
    y: round(height - ((b.durationMs ?? 0) / maxMs) * height),
    title: [
      b.createdAt.replace('T', ' ').slice(0, 19),
      formatDuration(b.durationMs),
      b.stepsTotal ? `${b.stepsTotal} steps` : null,
      b.cachedPercent === null ? null : `${b.cachedPercent}% cached`,
      b.status === 'completed' ? null : b.status,
    ]
      .filter(Boolean)
      .join(' · '),
  }));
  const cacheDots = history.builds.flatMap((b, i) =>
    b.cachedPercent === null
      ? []
      : [{ buildRef: b.buildRef, x: round(i * slot + slot / 2), y: round(height - (b.cachedPercent / 100) * height) }],
  );
  return { bars, cacheLine: cacheDots.map((d) => `${d.x},${d.y}`).join(' '), cacheDots, maxMs };
}

/** What the Timing panel shows for one record, read through the core. */
export class RecordTiming {
  timings = $state.raw<Timings | null>(null);
  project = $state.raw<ProjectHistory | null>(null);
  error = $state.raw<AppError | null>(null);
  loading = $state(false);
  /** The user stopped the reading. */
  stopped = $state(false);
  /** The platform whose steps are shown ('' = all of them). */
  platform = $state('');
  #operation: string | null = null;
  #latest = new Latest();
  #api: TimingApi;

  constructor(api: TimingApi) {
    this.#api = api;
  }

  /** The timing shown: the chosen platform's, else the whole build's. */
  get shown(): BuildTiming | null {
    if (!this.timings) return null;
    return this.timings.platforms.find((p) => p.platform === this.platform)?.timing ?? this.timings.overall;
  }

  /** Reads record `buildRef`'s timing and its project's builds from `source`, replacing any earlier reading. */
  async load(source: RecordSource, buildRef: string): Promise<void> {
    this.#stop();
    const fresh = this.#latest.begin();
    const operation = this.#api.newOperationId();
    this.#operation = operation;
    this.timings = null;
    this.project = null;
    this.error = null;
    this.stopped = false;
    this.platform = '';
    this.loading = true;
    try {
      const [timings, project] = await Promise.all([
        this.#api.buildTiming(source, buildRef, operation),
        this.#api.projectHistory(source, buildRef),
      ]);
      if (!fresh()) return;
      this.timings = timings;
      this.project = project;
    } catch (e) {
      if (fresh()) this.error = e as AppError;
    } finally {
      if (fresh()) {
        this.loading = false;
        this.#operation = null;
      }
    }
  }

  /** Stops a reading under way (its answer is dropped). */
  cancel(): void {
    if (!this.loading) return;
    this.#stop();
    this.loading = false;
    this.stopped = true;
  }

  #stop(): void {
    this.#latest.drop();
    if (this.#operation) void this.#api.cancelOperation(this.#operation).catch(() => {});
    this.#operation = null;
  }
}
