import { describe, expect, it } from 'vitest';
import {
  axisSpan,
  axisTicks,
  barFor,
  buildLanes,
  emptyLaneText,
  focusStep,
  formatDuration,
  formatTick,
  LANE_STATE_TEXT,
  laneOrder,
  linesText,
  orderSteps,
  roundSpan,
  shownState,
  stepLabel,
} from './lanes';
import { step } from './testSteps';

const platforms = ['linux/amd64', 'linux/arm64', 'linux/arm/v7'];

describe('lanes', () => {
  it('puts shared first, then the requested platforms in order, then lanes only the core named', () => {
    const steps = [step({ id: 'a', lane: 'linux/arm64' }), step({ id: 'b', lane: 'linux/riscv64' }), step({ id: 'c' })];
    expect(laneOrder(platforms, steps)).toEqual(['shared', 'linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/riscv64']);
  });

  it('groups steps, keeps their order, and shows every requested platform even before its first step', () => {
    const steps = [
      step({ id: 'ctx', lane: 'shared', startedMs: 0, completedMs: 50 }),
      step({ id: 'arm-run', lane: 'linux/arm64', state: 'running', startedMs: 100, completedMs: null }),
      step({ id: 'amd-from', lane: 'linux/amd64', startedMs: 60, completedMs: 120 }),
      step({ id: 'amd-run', lane: 'linux/amd64', startedMs: 120, completedMs: 400 }),
    ];
    const lanes = buildLanes(platforms, steps, true, 1000);
    expect(lanes.map((l) => l.id)).toEqual(['shared', ...platforms]);
    expect(lanes[1].steps.map((s) => s.id)).toEqual(['amd-from', 'amd-run']);
    expect(lanes[1].elapsedMs).toBe(340);
    // A running step's lane runs up to now.
    expect(lanes[2].elapsedMs).toBe(900);
    expect(lanes[3]).toMatchObject({ state: 'queued', elapsedMs: null });
    expect(lanes[2].state).toBe('running');
  });

  it('gives a platform retried on its own a lane per attempt, under its first', () => {
    const steps = [
      step({ id: 'arm/run', lane: 'linux/arm64', state: 'failed' }),
      step({ id: 'amd/run', lane: 'linux/amd64' }),
      step({ id: 'arm#2/ctx', lane: 'shared', attempt: 2 }),
      step({ id: 'arm#2/run', lane: 'linux/arm64', attempt: 2, startedMs: 2000, completedMs: 2500 }),
    ];
    const lanes = buildLanes(['linux/amd64', 'linux/arm64'], steps, false, 3000, 'succeeded');
    expect(lanes.map((l) => [l.key, l.id, l.attempt, l.state, l.steps.map((s) => s.id)])).toEqual([
      ['shared#2', 'shared', 2, 'done', ['arm#2/ctx']],
      ['linux/amd64', 'linux/amd64', null, 'done', ['amd/run']],
      ['linux/arm64', 'linux/arm64', 1, 'failed', ['arm/run']],
      ['linux/arm64#2', 'linux/arm64', 2, 'done', ['arm#2/run']],
    ]);
    expect(lanes[3].elapsedMs).toBe(500);
  });

  it('names the node a lane ran on in a build split across nodes, never for the shared lane', () => {
    const steps = [
      step({ id: 'farm0/ctx', lane: 'shared', node: 'farm0' }),
      step({ id: 'arm/ctx', lane: 'shared', node: 'arm' }),
      step({ id: 'arm/run', lane: 'linux/arm64', node: 'arm' }),
      step({ id: 'farm0/run', lane: 'linux/amd64', node: 'farm0' }),
    ];
    const lanes = buildLanes(['linux/amd64', 'linux/arm64'], steps, false, 1000, 'succeeded');
    expect(lanes.map((l) => [l.id, l.node])).toEqual([
      ['shared', null],
      ['linux/amd64', 'farm0'],
      ['linux/arm64', 'arm'],
    ]);
    expect(buildLanes(['linux/amd64'], [step({ id: 'run', lane: 'linux/amd64' })], false, 0, 'succeeded')[0].node).toBeNull();
  });

  it('says done when the build is over and failed for the lane with a failed step', () => {
    const steps = [
      step({ id: 'a', lane: 'linux/amd64', state: 'cached' }),
      step({ id: 'b', lane: 'linux/arm64', state: 'failed' }),
      step({ id: 'c', lane: 'linux/arm/v7', state: 'running', completedMs: null }),
    ];
    const lanes = buildLanes(platforms, steps, false, 500);
    expect(lanes.map((l) => [l.id, l.state])).toEqual([
      ['linux/amd64', 'done'],
      ['linux/arm64', 'failed'],
      ['linux/arm/v7', 'cancelled'],
    ]);
    expect(lanes[0].cached).toBe(1);
    expect(buildLanes(platforms, steps, true, 500)[2].state).toBe('failed');
  });

  it('marks a platform that never started as cancelled when the build was', () => {
    const lanes = buildLanes(['linux/amd64'], [], false, 0, 'cancelled');
    expect(lanes).toEqual([expect.objectContaining({ id: 'linux/amd64', state: 'cancelled' })]);
  });

  it('says a platform never started when the build failed before reaching it (a Dockerfile that does not parse)', () => {
    // What BuildKit reports for `FOO bar` on line 3: the definition was read, then the frontend failed.
    const steps = [step({ id: 'def', lane: 'shared', name: 'load build definition from Dockerfile' })];
    const lanes = buildLanes(['linux/amd64', 'linux/arm64'], steps, false, 50, 'failed');
    expect(lanes.map((l) => [l.id, l.state])).toEqual([
      ['shared', 'done'],
      ['linux/amd64', 'notStarted'],
      ['linux/arm64', 'notStarted'],
    ]);
    expect(LANE_STATE_TEXT.notStarted).toBe('not started');
  });

  it('says in an empty lane why nothing ran there', () => {
    const parse = 'dockerfile parse error on line 3: unknown instruction: FOO';
    expect(emptyLaneText('notStarted', parse)).toBe(`never ran — the build stopped first: ${parse}`);
    expect(emptyLaneText('notStarted', null)).toBe('never ran — the build stopped first');
    expect(emptyLaneText('queued', parse)).toBe('waiting for BuildKit…');
    expect(emptyLaneText('cancelled', null)).toBe('cancelled before it started');
    expect(emptyLaneText('done', null)).toBe('no steps ran');
  });

  it('keeps a platform with nothing of its own done when the build succeeded', () => {
    const lanes = buildLanes(['linux/amd64'], [step({ id: 'ctx' })], false, 100, 'succeeded');
    expect(lanes.map((l) => [l.id, l.state])).toEqual([
      ['shared', 'done'],
      ['linux/amd64', 'done'],
    ]);
  });

  it('reads unfinished steps of an ended build as cancelled', () => {
    expect(shownState(step({ id: 'a', state: 'running' }), false)).toBe('cancelled');
    expect(shownState(step({ id: 'a', state: 'running' }), true)).toBe('running');
    expect(shownState(step({ id: 'a', state: 'cached' }), false)).toBe('cached');
  });
});

describe('step order', () => {
  it('orders by start, keeping a stage’s numbered steps in Dockerfile order', () => {
    const meta = step({ id: 'meta', lane: 'linux/arm64', startedMs: 10 });
    const run = step({ id: 'run', position: '2/2', startedMs: 500 });
    const from = step({ id: 'from', position: '1/2', startedMs: 510, state: 'cached' });
    const later = step({ id: 'queued', startedMs: null, completedMs: null, state: 'queued' });
    expect(orderSteps([later, run, from, meta]).map((s) => s.id)).toEqual(['meta', 'from', 'run', 'queued']);
    const lanes = buildLanes(['linux/arm64'], [run, from].map((s) => ({ ...s, lane: 'linux/arm64' })), false, 0);
    expect(lanes[0].steps.map((s) => s.id)).toEqual(['from', 'run']);
  });

  it('keeps stages apart', () => {
    const a2 = step({ id: 'a2', stage: 'builder', position: '2/2', startedMs: 100 });
    const b1 = step({ id: 'b1', position: '1/2', startedMs: 150 });
    const a1 = step({ id: 'a1', stage: 'builder', position: '1/2', startedMs: 200 });
    expect(orderSteps([a2, b1, a1]).map((s) => s.id)).toEqual(['a1', 'b1', 'a2']);
  });
});

describe('time axis', () => {
  it('spans the latest end or now, at least a second', () => {
    expect(axisSpan([], false, 0)).toBe(1000);
    expect(axisSpan([step({ id: 'a', completedMs: 4200 })], false, 0)).toBe(4200);
    // While the build runs the span grows in steps, not with every tick of the clock.
    expect(axisSpan([step({ id: 'a', completedMs: null, state: 'running' })], true, 7000)).toBe(8000);
    expect(axisSpan([], true, 0)).toBe(1000);
  });

  it('grows a running axis in round steps, so it rescales a few times per decade', () => {
    expect([999, 1000, 1001, 1600, 2500, 3100, 4200, 5001, 6500, 8001, 12_000, 95_000].map(roundSpan)).toEqual([
      1000, 1000, 1500, 2000, 3000, 4000, 5000, 6000, 8000, 10_000, 15_000, 100_000,
    ]);
    expect(roundSpan(0)).toBe(1000);
    expect(roundSpan(Number.NaN)).toBe(1000);
    // A running build's axis changes at most nine times from 1 s to 10 s, whatever the clock rate.
    const spans = new Set<number>();
    for (let t = 1000; t <= 10_000; t += 50) spans.add(roundSpan(t));
    expect(spans.size).toBeLessThanOrEqual(9);
    for (let t = 1; t < 1e7; t *= 1.37) expect(roundSpan(t) / t).toBeLessThanOrEqual(1.5 + 1e-9);
  });

  it('places bars in percent of the span, at least a sliver wide, none before a start', () => {
    expect(barFor(step({ id: 'a', startedMs: 1000, completedMs: 3000 }), 4000, false, 0)).toEqual({ left: 25, width: 50 });
    expect(barFor(step({ id: 'a', startedMs: 2000, completedMs: 2000 }), 4000, false, 0)?.width).toBe(0.4);
    expect(barFor(step({ id: 'a', startedMs: null, completedMs: null }), 4000, false, 0)).toBeNull();
    expect(barFor(step({ id: 'a', startedMs: 1000, completedMs: null, state: 'running' }), 4000, true, 4000)).toEqual({
      left: 25,
      width: 75,
    });
  });

  it('ticks at round intervals, at most eight plus zero', () => {
    expect(axisTicks(1000)).toEqual([0, 250, 500, 750, 1000]);
    expect(axisTicks(42_000)).toEqual([0, 10_000, 20_000, 30_000, 40_000]);
    for (const span of [1000, 3333, 90_000, 4_000_000, 40_000_000]) expect(axisTicks(span).length).toBeLessThanOrEqual(9);
  });

  it('formats durations and ticks briefly', () => {
    expect(formatDuration(null)).toBe('—');
    expect(formatDuration(400)).toBe('0.4s');
    expect(formatDuration(12_345)).toBe('12s');
    expect(formatDuration(65_000)).toBe('1m 05s');
    expect(formatDuration(3_720_000)).toBe('1h 02m');
    expect(formatTick(0)).toBe('0');
    expect(formatTick(250)).toBe('250ms');
    expect(formatTick(5000)).toBe('5s');
    expect(formatTick(90_000)).toBe('1m 30s');
  });
});

describe('steps', () => {
  it('labels a step with its stage and position', () => {
    expect(stepLabel(step({ id: 'a', name: 'RUN make', stage: 'builder', position: '2/3' }))).toBe('builder 2/3 RUN make');
    expect(stepLabel(step({ id: 'a', name: 'load build context' }))).toBe('load build context');
  });

  it('says where the core placed a step in the Dockerfile', () => {
    expect(linesText({ start: 7, end: 7 })).toBe('line 7');
    expect(linesText({ start: 4, end: 5 })).toBe('lines 4–5');
    expect(linesText(step({ id: 'ctx', name: 'load build context' }).dockerfileLine)).toBeNull();
  });

  it('focuses the failed step, else the running one, else the last', () => {
    const a = step({ id: 'a' });
    const b = step({ id: 'b', state: 'running' });
    const c = step({ id: 'c', state: 'failed' });
    expect(focusStep([a, b, c])?.id).toBe('c');
    expect(focusStep([a, b])?.id).toBe('b');
    expect(focusStep([a])?.id).toBe('a');
    expect(focusStep([])).toBeNull();
  });
});
