// The build's lanes: steps grouped by platform (the "shared" lane first, then the request's
// platforms in its order, then any lane the core reported that the request did not name), a
// platform retried on its own getting a lane per attempt under its first, each with a state and
// elapsed time, all drawn against one time axis.
import type { BuildState, LineRange, Step, StepState } from '../types';

export const SHARED_LANE = 'shared';

/** `notStarted`: the build ended (failed) before anything ran in the lane, e.g. on a Dockerfile that does not parse. */
export type LaneState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled' | 'notStarted';

export interface Lane {
  /** `shared` or a platform. */
  id: string;
  /** Unique among the lanes: the platform, with `#2`, `#3`… for its retries. */
  key: string;
  /** Which attempt at the platform the lane shows when it was retried (1 the build itself); null otherwise. */
  attempt: number | null;
  /** The builder node the lane's steps ran on, in a build split across nodes (not for `shared`). */
  node: string | null;
  steps: Step[];
  state: LaneState;
  /** From the lane's first start to its last end (or now, while it runs); null before it starts. */
  elapsedMs: number | null;
  /** Steps that ended (done, cached or failed) out of all seen. */
  finished: number;
  cached: number;
}

const ENDED: ReadonlySet<StepState> = new Set<StepState>(['cached', 'done', 'failed', 'cancelled']);

export function isEnded(state: StepState): boolean {
  return ENDED.has(state);
}

/** Lane ids in display order. */
export function laneOrder(platforms: readonly string[], steps: readonly Step[]): string[] {
  const out = [SHARED_LANE];
  for (const p of platforms) if (!out.includes(p)) out.push(p);
  for (const s of steps) if (!out.includes(s.lane)) out.push(s.lane);
  return out;
}

/**
 * What a step shows as once the build is over: a step BuildKit never finished (the build failed
 * elsewhere or was cancelled) reads as cancelled rather than as running forever.
 */
export function shownState(step: Step, active: boolean): StepState {
  if (!active && (step.state === 'running' || step.state === 'queued')) return 'cancelled';
  return step.state;
}

function laneState(steps: readonly Step[], active: boolean, ended: BuildState | null): LaneState {
  const states = steps.map((s) => shownState(s, active));
  if (states.includes('failed')) return 'failed';
  if (active) {
    if (steps.length === 0) return 'queued';
    return 'running';
  }
  if (steps.length === 0 && ended === 'cancelled') return 'cancelled';
  // Nothing ran, and the build did not succeed: the lane never started rather than being done.
  if (steps.length === 0 && ended !== 'succeeded') return 'notStarted';
  if (states.includes('cancelled')) return 'cancelled';
  return 'done';
}

/**
 * The lanes of a build. `active` while the build runs; `nowMs` is the time since the build's
 * first step (running steps and lanes extend to it); `ended`, how the build ended once it has.
 */
export function buildLanes(
  platforms: readonly string[],
  steps: readonly Step[],
  active: boolean,
  nowMs: number,
  ended: BuildState | null = null,
): Lane[] {
  const byLane = new Map<string, Step[]>();
  const retried = new Set(steps.filter((s) => s.attempt !== null).map((s) => s.lane));
  for (const id of laneOrder(platforms, steps)) {
    byLane.set(id, []);
    const retries = [...new Set(steps.filter((s) => s.lane === id && s.attempt !== null).map((s) => s.attempt!))];
    for (const attempt of retries.sort((a, b) => a - b)) byLane.set(`${id}#${attempt}`, []);
  }
  for (const s of steps) byLane.get(s.attempt === null ? s.lane : `${s.lane}#${s.attempt}`)!.push(s);
  const lanes: Lane[] = [];
  for (const [key, reported] of byLane) {
    const [id, retry] = key.split('#');
    const attempt = retry !== undefined ? Number(retry) : retried.has(id) ? 1 : null;
    const laneSteps = orderSteps(reported);
    // The shared lane only shows when something ran in it, or while waiting for the first step.
    if (id === SHARED_LANE && laneSteps.length === 0 && !active) continue;
    let start: number | null = null;
    let end: number | null = null;
    for (const s of laneSteps) {
      if (s.startedMs === null) continue;
      start = start === null ? s.startedMs : Math.min(start, s.startedMs);
      const e = stepEnd(s, active, nowMs);
      end = end === null ? e : Math.max(end, e);
    }
    lanes.push({
      id,
      key,
      attempt,
      node: id === SHARED_LANE ? null : (laneSteps.find((s) => s.node !== null)?.node ?? null),
      steps: laneSteps,
      state: laneState(laneSteps, active, ended),
      elapsedMs: start === null || end === null ? null : Math.max(0, end - start),
      finished: laneSteps.filter((s) => s.state === 'done' || s.state === 'cached' || s.state === 'failed').length,
      cached: laneSteps.filter((s) => s.state === 'cached').length,
    });
  }
  return lanes;
}

const positionIndex = (p: string | null) => (p === null ? 0 : Number(p.split('/')[0]) || 0);

/**
 * A lane's steps top to bottom: by start time (not yet started last), except that the numbered
 * steps of one stage keep the Dockerfile's order (`1/3`, `2/3`, `3/3`) in the rows they occupy —
 * a cached FROM is often reported after the RUN that follows it.
 */
export function orderSteps(steps: readonly Step[]): Step[] {
  const byStart = steps
    .map((s, i) => ({ s, i }))
    .sort((a, b) => (a.s.startedMs ?? Infinity) - (b.s.startedMs ?? Infinity) || a.i - b.i)
    .map(({ s }) => s);
  const stages = new Map<string, number[]>();
  byStart.forEach((s, row) => {
    if (s.position === null) return;
    const key = s.stage ?? '';
    stages.set(key, [...(stages.get(key) ?? []), row]);
  });
  const out = [...byStart];
  for (const rows of stages.values()) {
    const sorted = rows.map((r) => byStart[r]).sort((a, b) => positionIndex(a.position) - positionIndex(b.position));
    rows.forEach((r, k) => (out[r] = sorted[k]));
  }
  return out;
}

/** Where a step's bar ends: its completion, or now while it runs. */
export function stepEnd(step: Step, active: boolean, nowMs: number): number {
  if (step.completedMs !== null) return step.completedMs;
  const start = step.startedMs ?? 0;
  return active ? Math.max(start, nowMs) : start;
}

/**
 * The axis length: the latest moment anything is drawn at, never shorter than one second. While
 * the build runs it grows in steps (see `roundSpan`) rather than with every clock tick, so bars,
 * tick marks and gridlines stay where they are between steps and only the running bars move.
 */
export function axisSpan(steps: readonly Step[], active: boolean, nowMs: number): number {
  let max = active ? nowMs : 0;
  for (const s of steps) {
    if (s.startedMs !== null) max = Math.max(max, stepEnd(s, active, nowMs));
  }
  const span = Math.max(1000, max);
  return active ? roundSpan(span) : span;
}

const SPAN_STEPS = [1, 1.5, 2, 3, 4, 5, 6, 8, 10];

/** The smallest of 1, 1.5, 2, 3, 4, 5, 6, 8 × 10^k that is at least `ms` (at most 1.5× it). */
export function roundSpan(ms: number): number {
  if (!(ms > 0) || !Number.isFinite(ms)) return 1000;
  const power = 10 ** Math.floor(Math.log10(ms));
  return SPAN_STEPS.map((m) => m * power).find((s) => s >= ms) ?? 10 * power;
}

export interface Bar {
  /** Percent of the axis from its start. */
  left: number;
  width: number;
}

/** A step's bar on an axis of `span` ms; null when the step has not started. Bars are at least 0.4 % wide. */
export function barFor(step: Step, span: number, active: boolean, nowMs: number): Bar | null {
  if (step.startedMs === null) return null;
  const left = (step.startedMs / span) * 100;
  const width = ((stepEnd(step, active, nowMs) - step.startedMs) / span) * 100;
  return { left: Math.min(100, left), width: Math.max(0.4, Math.min(100 - Math.min(100, left), width)) };
}

/** Tick marks for the axis: 4–8 round steps (100 ms, 250 ms, 1 s, 5 s, 1 min …) inside `span`. */
export function axisTicks(span: number): number[] {
  const steps = [100, 250, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 1_800_000, 3_600_000];
  const step = steps.find((s) => span / s <= 8) ?? Math.ceil(span / 8 / 3_600_000) * 3_600_000;
  const ticks: number[] = [];
  for (let t = 0; t <= span; t += step) ticks.push(t);
  return ticks;
}

/** "0.4s", "12.3s", "59s", "1m 05s", "1h 02m". */
export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

/** Axis labels: "0", "500ms", "2s", "1m 30s". */
export function formatTick(ms: number): string {
  if (ms === 0) return '0';
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${ms / 1000}s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return s ? `${m}m ${s}s` : `${m}m`;
}

/** The step's duration, or the time it has run so far. */
export function stepDuration(step: Step, active: boolean, nowMs: number): number | null {
  if (step.startedMs === null) return null;
  return stepEnd(step, active, nowMs) - step.startedMs;
}

/** The step's label: `2/3 RUN make`, with the stage when it has one: `builder 2/3 RUN make`. */
export function stepLabel(step: Step): string {
  const prefix = [step.stage, step.position].filter((p) => p).join(' ');
  return prefix ? `${prefix} ${step.name}` : step.name;
}

/** Where a step is in the Dockerfile, as the core placed it: "line 7", "lines 4–5"; null when it is not. */
export function linesText(lines: LineRange | null): string | null {
  if (lines === null) return null;
  return lines.end > lines.start ? `lines ${lines.start}–${lines.end}` : `line ${lines.start}`;
}

export const LANE_STATE_TEXT: Record<LaneState, string> = {
  queued: 'waiting',
  running: 'building',
  done: 'done',
  failed: 'failed',
  cancelled: 'cancelled',
  notStarted: 'not started',
};

/**
 * The line a lane without steps shows: waiting while the build runs; once it ended, why nothing
 * ran there when the build stopped before (`reason`: the build's error, e.g. the parse error).
 */
export function emptyLaneText(state: LaneState, reason: string | null): string {
  if (state === 'queued') return 'waiting for BuildKit…';
  if (state === 'notStarted') return reason ? `never ran — the build stopped first: ${reason}` : 'never ran — the build stopped first';
  if (state === 'cancelled') return 'cancelled before it started';
  return 'no steps ran';
}

/** The step that best answers "what went wrong / what is happening" in a lane: failed, else running, else last. */
export function focusStep(steps: readonly Step[]): Step | null {
  return (
    steps.find((s) => s.state === 'failed') ??
    [...steps].reverse().find((s) => s.state === 'running') ??
    steps[steps.length - 1] ??
    null
  );
}
