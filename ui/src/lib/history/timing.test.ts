import { describe, expect, it, vi } from 'vitest';
import type { BuildTiming, ProjectHistory, Timings } from '../types';
import { cacheSegments, cacheText, kindRows, parallelismChart, projectChart, RecordTiming, type TimingApi } from './timing.svelte';

/** Two RUNs overlapping for 500 ms of a 2 s build, then a cached COPY. */
function timing(over: Partial<BuildTiming> = {}): BuildTiming {
  return {
    durationMs: 2000,
    busyMs: 1500,
    idleMs: 500,
    accumulatedMs: 2000,
    parallelMs: 500,
    maxParallelism: 2,
    unfinished: 0,
    kinds: [
      { kind: 'file', steps: 1, cached: 1, realMs: 0, accumulatedMs: 0 },
      { kind: 'exec', steps: 2, cached: 0, realMs: 1500, accumulatedMs: 2000 },
    ],
    cache: { instructions: 3, cachedInstructions: 1, instructionsPercent: 33, steps: 4, cachedSteps: 1 },
    bucketMs: 1000,
    parallelism: [
      { startMs: 0, max: 2, busyMs: [0, 1500] },
      { startMs: 1000, max: 1, busyMs: [0, 500] },
    ],
    ...over,
  };
}

describe('timing charts', () => {
  it('puts real and accumulated time of each kind on one scale', () => {
    const rows = kindRows(timing());
    expect(rows.map((r) => [r.label, r.realPct, r.accumulatedPct])).toEqual([
      ['File operations', 0, 0],
      ['Executions', 75, 100],
    ]);
  });

  it('splits the cache bar kind by kind, cached steps first', () => {
    expect(cacheSegments(timing()).map((s) => [s.kind, s.leftPct, s.cachedPct, s.runPct])).toEqual([
      ['file', 0, 25, 0],
      ['exec', 25, 0, 50],
    ]);
    expect(cacheText(timing())).toBe('1 of 3 Dockerfile steps cached (33%)');
    const noInstructions = timing({ cache: { instructions: 0, cachedInstructions: 0, instructionsPercent: null, steps: 2, cachedSteps: 0 } });
    expect(cacheText(noInstructions)).toBe('0 of 2 steps cached');
  });

  it('stacks each kind’s average running steps per bucket under a line of the most at once', () => {
    const chart = parallelismChart(timing(), 200, 100);
    expect(chart.yMax).toBe(2);
    // Executions average 1.5 steps in the first second, 0.5 in the next, on top of no file steps.
    expect(chart.areas[1]).toEqual({ kind: 'exec', points: '0,25 100,25 100,75 200,75 200,100 100,100 100,100 0,100' });
    expect(chart.maxLine).toBe('0,0 100,0 100,50 200,50');
  });

  it('cuts the last bucket at the build’s end', () => {
    const short = timing({ durationMs: 1500, maxParallelism: 1, parallelism: [{ startMs: 0, max: 1, busyMs: [0, 1000] }, { startMs: 1000, max: 1, busyMs: [0, 500] }] });
    const chart = parallelismChart(short, 150, 10);
    expect(chart.areas[1].points.startsWith('0,0 100,0 100,0 150,0')).toBe(true);
    expect(chart.maxLine).toBe('0,0 100,0 100,0 150,0');
  });

  it('draws a project’s builds oldest first with the open one marked and its cached share', () => {
    const project: ProjectHistory = {
      name: 'app',
      context: '/src/app',
      dockerfile: '/src/app/Dockerfile',
      target: '',
      builds: [
        { buildRef: 'a', createdAt: '2026-12-01T10:00:00Z', status: 'completed', durationMs: 4000, stepsTotal: 8, stepsCached: 2, cachedPercent: 25 },
        { buildRef: 'b', createdAt: '2026-12-01T11:00:00Z', status: 'failed', durationMs: 1000, stepsTotal: 8, stepsCached: 8, cachedPercent: 100 },
      ],
    };
    const chart = projectChart(project, 'b', 200, 100);
    expect(chart.maxMs).toBe(4000);
    expect(chart.bars.map((b) => [b.buildRef, b.x, b.width, b.y, b.current])).toEqual([
      ['a', 30, 40, 0, false],
      ['b', 130, 40, 75, true],
    ]);
    expect(chart.bars[1].title).toBe('2026-12-01 11:00:00 · 1.0s · 8 steps · 100% cached · failed');
    expect(chart.cacheLine).toBe('50,75 150,0');
    // Many builds: narrower bars, one per slot.
    const many = { ...project, builds: Array.from({ length: 100 }, (_, i) => ({ ...project.builds[0], buildRef: `r${i}` })) };
    expect(projectChart(many, 'r0', 200, 100).bars[1]).toMatchObject({ x: 2.3, width: 1.4 });
  });
});

const BUILDER = { kind: 'builder', builder: '' } as const;
const BUNDLE = { kind: 'bundle', path: '/tmp/b.dockerbuild' } as const;

function fakeApi() {
  let answer: (t: Timings) => void = () => {};
  let operations = 0;
  const api = {
    newOperationId: vi.fn<TimingApi['newOperationId']>(() => `op-${++operations}`),
    buildTiming: vi.fn<TimingApi['buildTiming']>(() => new Promise<Timings>((resolve) => (answer = resolve))),
    projectHistory: vi.fn<TimingApi['projectHistory']>(async () => ({ name: '', context: '', dockerfile: '', target: '', builds: [] })),
    cancelOperation: vi.fn<TimingApi['cancelOperation']>(async () => true),
  };
  return { api, answer: (t: Timings) => answer(t) };
}

describe('a record’s timing', () => {
  it('shows the whole build, or one platform’s steps when chosen', async () => {
    const { api, answer } = fakeApi();
    const record = new RecordTiming(api);
    const loading = record.load({ kind: 'builder', builder: 'b1' }, 'ref1');
    expect(record.loading).toBe(true);
    const arm = timing({ durationMs: 900 });
    answer({ overall: timing(), platforms: [{ platform: 'linux/arm64', timing: arm }] });
    await loading;
    expect(api.buildTiming).toHaveBeenCalledWith({ kind: 'builder', builder: 'b1' }, 'ref1', 'op-1');
    expect(record.loading).toBe(false);
    expect(record.shown?.durationMs).toBe(2000);
    record.platform = 'linux/arm64';
    expect(record.shown).toBe(arm);
  });

  it('stops a reading on request and keeps only the newest record’s answer', async () => {
    const { api, answer } = fakeApi();
    const record = new RecordTiming(api);
    const first = record.load(BUILDER, 'old');
    record.cancel();
    expect(api.cancelOperation).toHaveBeenCalledWith('op-1');
    expect(record.stopped).toBe(true);
    answer({ overall: timing(), platforms: [] });
    await first;
    expect(record.timings).toBeNull();

    const second = record.load(BUNDLE, 'new');
    expect(record.stopped).toBe(false);
    answer({ overall: timing({ durationMs: 7 }), platforms: [] });
    await second;
    expect(record.shown?.durationMs).toBe(7);
    // A record of a .dockerbuild file is timed from the file.
    expect(api.projectHistory).toHaveBeenLastCalledWith(BUNDLE, 'new');
  });

  it('shows why it could not read', async () => {
    const { api } = fakeApi();
    api.buildTiming.mockRejectedValueOnce({ code: 'notFound', message: 'builder default has no build record x' });
    const record = new RecordTiming(api);
    await record.load(BUILDER, 'x');
    expect(record.error?.code).toBe('notFound');
    expect(record.loading).toBe(false);
  });
});
