import { describe, expect, it, vi } from 'vitest';
import type { AppError, BuildOutcome, BuildRecord, DockerfileOutline, ProgressUpdate, Replay } from '../types';
import { emptyBuildForm } from './form';
import { BuildSession, FRAME_MS, type BuildApi } from './session.svelte';
import { platformResult, step } from './testSteps';
import { entry } from '../history/testEntries';

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const outcome = (partial: Partial<BuildOutcome> = {}): BuildOutcome => ({
  buildRef: 'ref-1',
  builder: 'default',
  state: 'succeeded',
  digest: 'sha256:abc',
  platforms: ['linux/amd64'],
  tags: ['r/app:1'],
  durationMs: 2000,
  failure: null,
  steps: [],
  exporterResponse: {},
  platformResults: [],
  ...partial,
});

function outline(source: string): DockerfileOutline {
  return { source, stages: [], target: null, args: [], secrets: [], ssh: [], origin: { kind: 'builder', builder: 'default' } };
}

function fakeApi(overrides: Partial<BuildApi> = {}) {
  let ids = 0;
  const api = {
    newOperationId: () => `op-${++ids}`,
    startBuild: vi.fn<BuildApi['startBuild']>(async () => outcome()),
    cancelOperation: vi.fn<BuildApi['cancelOperation']>(async () => true),
    buildCliCommand: vi.fn<BuildApi['buildCliCommand']>(async () => 'docker buildx build .'),
    offeredPlatforms: vi.fn<BuildApi['offeredPlatforms']>(async () => [{ platform: 'linux/amd64', emulated: false, pinned: false }]),
    dockerfileOutline: vi.fn<BuildApi['dockerfileOutline']>(async () => outline('FROM x\nRUN make\n')),
    dockerfileSource: vi.fn<BuildApi['dockerfileSource']>(async () => 'FROM x\nRUN make\n'),
    recentBuilds: vi.fn<BuildApi['recentBuilds']>(async () => []),
    buildLogs: vi.fn<BuildApi['buildLogs']>(async () => [{ step: 's1', stream: 1, text: 'recorded\n' }]),
    replayRecord: vi.fn<BuildApi['replayRecord']>(async () => {
      throw { code: 'notFound', message: 'no such record' };
    }),
    retryPlatform: vi.fn<BuildApi['retryPlatform']>(async () => outcome()),
  };
  return Object.assign(api, overrides) as typeof api;
}

describe('BuildSession', () => {
  it('streams steps and logs into the run, then takes the outcome’s steps and opens a failure on its summary', async () => {
    const gate = deferred<BuildOutcome>();
    let push!: (u: ProgressUpdate) => void;
    const api = fakeApi({
      startBuild: vi.fn(async (_r, _op, on) => {
        push = on;
        return gate.promise;
      }),
    });
    const session = new BuildSession(api);
    session.form = { ...emptyBuildForm(), context: '/c', platforms: ['linux/amd64', 'linux/arm64'] };
    const started = session.start();
    expect(session.running).toBe(true);
    expect(api.startBuild).toHaveBeenCalledWith(expect.objectContaining({ context: '/c' }), 'op-1', expect.any(Function));

    push({ steps: [step({ id: 's1', lane: 'linux/amd64', state: 'running', completedMs: null })], logs: [], warnings: [] });
    push({
      steps: [step({ id: 's1', lane: 'linux/amd64', state: 'done', completedMs: 900 })],
      logs: [{ step: 's1', stream: 1, text: 'x86_64\n' }],
      warnings: ['w'],
    });
    const run = session.run!;
    // Progress waits for the build's clock to tick, and then arrives together.
    expect(run.steps).toHaveLength(0);
    run.tick();
    expect(run.steps).toHaveLength(1);
    expect(run.steps[0].state).toBe('done');
    expect(run.logs.tail('s1', 1)).toEqual(['x86_64']);
    expect(run.warnings).toEqual(['w']);

    const failed = step({ id: 's2', lane: 'linux/arm64', state: 'failed' });
    gate.resolve(
      outcome({
        state: 'failed',
        digest: null,
        steps: [run.steps[0], failed],
        failure: {
          message: 'm',
          platform: 'linux/arm64',
          step: failed,
          dockerfileLine: 2,
          dockerfileEndLine: null,
          dockerfileName: null,
          dockerfileSource: null,
          vertex: null,
          exitCode: null,
          lastLines: [],
          succeededPlatforms: ['linux/amd64'],
          node: null,
        },
      }),
    );
    await started;
    expect(session.running).toBe(false);
    expect(session.tab).toBe('failure');
    expect(run.steps.map((s) => s.id)).toEqual(['s1', 's2']);
    // Logs stay after the build.
    expect(run.logs.tail('s1', 1)).toEqual(['x86_64']);
    expect(run.source).toBe('FROM x\nRUN make\n');
    expect(api.recentBuilds).toHaveBeenCalled();
  });

  it('folds progress in on the clock’s ticks, once per tick however many updates arrived, and all of it at the end', async () => {
    vi.useFakeTimers();
    try {
      const gate = deferred<BuildOutcome>();
      let push!: (u: ProgressUpdate) => void;
      const api = fakeApi({
        startBuild: vi.fn(async (_r, _op, on) => {
          push = on;
          return gate.promise;
        }),
      });
      const session = new BuildSession(api);
      const started = session.start();
      const run = session.run!;
      const frame = run.frame;
      const clock = run.clock;
      for (let i = 0; i < 3; i++) {
        push({
          steps: [step({ id: 'run', state: 'running', startedMs: 10, completedMs: null, logLines: i })],
          logs: [{ step: 'run', stream: 1, text: `line ${i}\n` }],
          warnings: [],
        });
      }
      const stepsBefore = run.steps;
      const logVersion = run.logVersion;
      expect(run.logs.lineCount('run')).toBe(0);

      vi.advanceTimersByTime(FRAME_MS);
      expect(run.frame).toBe(frame + 1);
      expect(run.clock).toBeGreaterThanOrEqual(clock);
      expect(run.steps).not.toBe(stepsBefore);
      expect(run.steps).toEqual([expect.objectContaining({ id: 'run', logLines: 2 })]);
      expect(run.logVersion).toBe(logVersion + 1);
      expect(run.logs.tail('run', 3)).toEqual(['line 0', 'line 1', 'line 2']);

      // A tick with nothing new changes the clock only.
      const steps = run.steps;
      vi.advanceTimersByTime(FRAME_MS);
      expect(run.steps).toBe(steps);
      expect(run.logVersion).toBe(logVersion + 1);

      // What arrived after the last tick is not lost when the build ends.
      push({ steps: [], logs: [{ step: 'run', stream: 1, text: 'last\n' }], warnings: ['late'] });
      gate.resolve(outcome({ steps: [step({ id: 'run' })] }));
      await started;
      expect(run.logs.tail('run', 1)).toEqual(['last']);
      expect(run.warnings).toEqual(['late']);
      // The clock stops with the build.
      const frames = run.frame;
      vi.advanceTimersByTime(10 * FRAME_MS);
      expect(run.frame).toBe(frames);
    } finally {
      vi.useRealTimers();
    }
  });

  it('shows an invalid form beside the form and keeps the previous build on screen', async () => {
    const bad: AppError = { code: 'invalidInput', message: 'invalid platform "foo"' };
    const api = fakeApi();
    const session = new BuildSession(api);
    await session.start();
    const first = session.run;
    api.startBuild.mockRejectedValueOnce(bad);
    await session.start();
    expect(session.formError).toEqual(bad);
    expect(session.run).toBe(first);
    api.startBuild.mockResolvedValueOnce(outcome());
    await session.start();
    expect(session.formError).toBeNull();
  });

  it('keeps a build that failed to run as the run’s error', async () => {
    const down: AppError = { code: 'engineUnreachable', message: 'engine gone' };
    const session = new BuildSession(fakeApi({ startBuild: vi.fn(async () => Promise.reject(down)) }));
    await session.start();
    expect(session.run?.error).toEqual(down);
    expect(session.running).toBe(false);
  });

  it('cancels the running build by its operation id and keeps what was seen', async () => {
    const gate = deferred<BuildOutcome>();
    let push!: (u: ProgressUpdate) => void;
    const api = fakeApi({
      startBuild: vi.fn(async (_r, _op, on) => {
        push = on;
        return gate.promise;
      }),
    });
    const session = new BuildSession(api);
    const started = session.start();
    push({ steps: [step({ id: 's1', state: 'running', completedMs: null })], logs: [{ step: 's1', stream: 1, text: 'half' }], warnings: [] });
    await session.cancel();
    expect(api.cancelOperation).toHaveBeenCalledWith('op-1');
    expect(session.run?.cancelling).toBe(true);
    gate.resolve(outcome({ state: 'cancelled', digest: null, steps: [step({ id: 's1', state: 'cancelled' })] }));
    await started;
    expect(session.run?.cancelling).toBe(false);
    expect(session.run?.steps[0].state).toBe('cancelled');
    expect(session.run?.logs.tail('s1', 1)).toEqual(['half']);
    expect(session.tab).toBe('lanes');
  });

  it('shows a recorded build with its logs and re-runs it with the same request', async () => {
    const api = fakeApi();
    const session = new BuildSession(api);
    const record: BuildRecord = {
      request: { ...session.request(), context: '/old', platforms: ['linux/arm/v7'], tags: ['r/a:1'] },
      outcome: outcome({ buildRef: 'old-ref', steps: [step({ id: 's1' })] }),
      startedAt: '2025-01-01T00:00:00Z',
    };
    await session.show(record);
    expect(session.showing).toBe('old-ref');
    expect(session.run?.active).toBe(false);
    expect(api.buildLogs).toHaveBeenCalledWith('old-ref');
    expect(session.run?.logs.tail('s1', 1)).toEqual(['recorded']);

    await session.rerun(record);
    expect(api.startBuild).toHaveBeenLastCalledWith(record.request, expect.any(String), expect.any(Function));
    expect(session.form.context).toBe('/old');
    expect(session.showing).toBeNull();
  });

  it('retries one platform of a recorded build: a new run of the same request that starts from the earlier steps', async () => {
    const earlier = outcome({
      buildRef: 'kept-ref',
      state: 'failed',
      platforms: ['linux/amd64', 'linux/arm64'],
      steps: [step({ id: 'arm-run', lane: 'linux/arm64', state: 'failed' })],
      platformResults: [platformResult('linux/amd64', 'succeeded'), platformResult('linux/arm64', 'failed')],
    });
    const retried = outcome({
      buildRef: 'retry-ref',
      platforms: ['linux/amd64', 'linux/arm64'],
      steps: [...earlier.steps, step({ id: 'arm-run-2', lane: 'linux/arm64', attempt: 2 })],
      platformResults: [platformResult('linux/amd64', 'succeeded'), platformResult('linux/arm64', 'succeeded', 2)],
    });
    const gate = deferred<BuildOutcome>();
    let push!: (u: ProgressUpdate) => void;
    const api = fakeApi({
      retryPlatform: vi.fn(async (_ref, _platform, _op, on) => {
        push = on;
        return gate.promise;
      }),
    });
    const session = new BuildSession(api);
    const record: BuildRecord = { request: { ...session.request(), keepGoing: true }, outcome: earlier, startedAt: '2025-01-01T00:00:00Z' };
    await session.show(record);

    const retrying = session.retry('linux/arm64');
    expect(api.retryPlatform).toHaveBeenCalledWith('kept-ref', 'linux/arm64', 'op-1', expect.any(Function));
    expect([session.running, session.showing, session.tab]).toEqual([true, null, 'lanes']);
    expect(session.run?.request).toEqual(record.request);
    // The core sends the earlier steps first; the retry's follow.
    push({ steps: earlier.steps, logs: [{ step: 'arm-run', stream: 2, text: 'exit code: 1\n' }], warnings: [] });
    session.run!.tick();
    expect(session.run!.steps.map((s) => s.id)).toEqual(['arm-run']);
    gate.resolve(retried);
    await retrying;
    expect(session.run!.outcome?.buildRef).toBe('retry-ref');
    expect(session.run!.steps.map((s) => [s.id, s.attempt])).toEqual([['arm-run', null], ['arm-run-2', 2]]);
    expect(session.tab).toBe('lanes');
  });

  it('closes a shown build back to the empty view (the way back when showing it failed), never a running one', async () => {
    const session = new BuildSession(fakeApi());
    const record: BuildRecord = {
      request: session.request(),
      outcome: outcome({ buildRef: 'bad-ref', steps: [step({ id: 's1' })] }),
      startedAt: '2025-01-01T00:00:00Z',
    };
    await session.show(record);
    session.selectStep('s1');
    session.close();
    expect([session.run, session.showing, session.selectedStep, session.tab]).toEqual([null, null, null, 'lanes']);

    const gate = deferred<BuildOutcome>();
    const running = new BuildSession(fakeApi({ startBuild: vi.fn(async () => gate.promise) }));
    const started = running.start();
    running.close();
    expect(running.running).toBe(true);
    gate.resolve(outcome());
    await started;
  });

  it('drops an outline answer overtaken by a later one, and clears it for a blank context', async () => {
    const first = deferred<DockerfileOutline>();
    const api = fakeApi();
    api.dockerfileOutline.mockImplementationOnce(() => first.promise);
    const session = new BuildSession(api);
    session.form.context = '/a';
    const slow = session.loadOutline();
    session.form.context = '/b';
    await session.loadOutline();
    first.resolve(outline('FROM stale'));
    await slow;
    expect(session.outline?.source).toBe('FROM x\nRUN make\n');
    session.form.context = ' ';
    await session.loadOutline();
    expect(session.outline).toBeNull();
  });

  it('asks the form’s builder for the outline of the form’s target', async () => {
    const api = fakeApi();
    const session = new BuildSession(api);
    session.form = { ...session.form, context: ' /c ', dockerfile: 'build/Dockerfile', builder: 'remote1', target: 'final ' };
    await session.loadOutline();
    expect(api.dockerfileOutline).toHaveBeenLastCalledWith('remote1', '/c', 'build/Dockerfile', 'final');
    api.dockerfileOutline.mockRejectedValueOnce({ code: 'invalidInput', message: 'syntax error in /c/Dockerfile line 3: unknown instruction: FORM' });
    await session.loadOutline();
    expect(session.outline).toBeNull();
    expect(session.outlineError?.message).toContain('line 3');
  });

  it('reads the builder’s platforms and reports why it could not', async () => {
    const api = fakeApi();
    const session = new BuildSession(api);
    await session.loadOffered('');
    expect(session.offered.map((p) => p.platform)).toEqual(['linux/amd64']);
    api.offeredPlatforms.mockRejectedValueOnce({ code: 'notFound', message: 'no builder x' });
    await session.loadOffered('x');
    expect(session.offered).toEqual([]);
    expect(session.offeredError?.message).toBe('no builder x');
  });

  it('says whose platforms the form offers while the builder’s own list is read', async () => {
    const api = fakeApi();
    const session = new BuildSession(api);
    expect(session.offeredState).toBe('reading');
    await session.loadOffered(session.form.builder);
    expect(session.offeredState).toBe('builder');
    session.form.builder = 'x';
    expect(session.offeredState).toBe('reading');
    api.offeredPlatforms.mockRejectedValueOnce({ code: 'notFound', message: 'no builder x' });
    await session.loadOffered('x');
    expect(session.offeredState).toBe('unreadable');
  });

  it('drops the platforms of a builder picked before the last one', async () => {
    const first = deferred<Awaited<ReturnType<BuildApi['offeredPlatforms']>>>();
    const api = fakeApi();
    api.offeredPlatforms.mockImplementationOnce(() => first.promise);
    const session = new BuildSession(api);
    const slow = session.loadOffered('slow');
    await session.loadOffered('fast');
    first.resolve([{ platform: 'linux/s390x', emulated: true, pinned: false }]);
    await slow;
    expect(session.offeredFor).toBe('fast');
    expect(session.offered.map((p) => p.platform)).toEqual(['linux/amd64']);
  });

  it('opens a history record by replaying its logs into the lanes, failure first when it failed', async () => {
    const gate = deferred<Replay>();
    let push!: (u: ProgressUpdate) => void;
    const api = fakeApi({
      replayRecord: vi.fn(async (_source, _ref, _op, on) => {
        push = on;
        return gate.promise;
      }),
    });
    const session = new BuildSession(api);
    const record = entry('r1', { status: 'failed', node: 'farm1' });
    const opened = session.openHistory(record);
    // The row's own node: buildx gives every node of one build the same ref.
    const source = { kind: 'builder', builder: 'default', node: 'farm1' };
    expect(api.replayRecord).toHaveBeenCalledWith(source, 'r1', 'op-1', expect.any(Function));
    expect(session.running).toBe(true);
    expect(session.historyEntry).toEqual(record);
    push({ steps: [step({ id: 's1', lane: 'linux/amd64', state: 'failed' })], logs: [{ step: 's1', stream: 2, text: 'boom\n' }], warnings: [] });
    gate.resolve({ entry: record, source: 'logsBlob', outcome: outcome({ buildRef: 'r1', state: 'failed', steps: [step({ id: 's1', state: 'failed' })] }) });
    await opened;
    expect(session.running).toBe(false);
    expect(session.run?.steps.map((s) => s.id)).toEqual(['s1']);
    expect(session.run?.logs.tail('s1', 10)).toEqual(['boom']);
    expect(session.tab).toBe('failure');
    expect(session.showing).toBe('r1');
  });

  it('opens a build of a .dockerbuild file by replaying it from the file, and says where it came from', async () => {
    const record = entry('f1');
    const api = fakeApi({
      replayRecord: vi.fn(async (_source, _ref, _op, on) => {
        on({ steps: [step({ id: 's1', lane: 'linux/amd64', state: 'done' })], logs: [], warnings: [] });
        return { entry: record, source: 'logsBlob' as const, outcome: outcome({ buildRef: 'f1', steps: [step({ id: 's1' })] }) };
      }),
    });
    const session = new BuildSession(api);
    await session.openHistory(record, { kind: 'bundle', path: '/tmp/b.dockerbuild' });
    expect(api.replayRecord).toHaveBeenCalledWith({ kind: 'bundle', path: '/tmp/b.dockerbuild' }, 'f1', 'op-1', expect.any(Function));
    expect(session.historyBundle).toBe('/tmp/b.dockerbuild');
    expect(session.run?.steps.map((s) => s.id)).toEqual(['s1']);
    session.close();
    expect(session.historyBundle).toBeNull();
  });

  it('keeps a replay that could not run as the run’s error', async () => {
    const session = new BuildSession(fakeApi());
    await session.openHistory(entry('gone'));
    expect(session.run?.error?.code).toBe('notFound');
  });

  it('keeps the logs of updates that reach the page after the replay’s answer, and the outcome’s steps', async () => {
    let push!: (u: ProgressUpdate) => void;
    const record = entry('r2');
    const api = fakeApi({
      replayRecord: vi.fn(async (_source, _ref, _op, on) => {
        push = on;
        return { entry: record, source: 'logsBlob', outcome: outcome({ buildRef: 'r2', steps: [step({ id: 's1', state: 'done' })] }) } as Replay;
      }),
    });
    const session = new BuildSession(api);
    await session.openHistory(record);
    push({ steps: [step({ id: 's1', state: 'running' })], logs: [{ step: 's1', stream: 1, text: 'late 1\nlate 2\n' }], warnings: ['slow'] });
    expect(session.run?.logs.tail('s1', 10)).toEqual(['late 1', 'late 2']);
    expect(session.run?.steps.map((s) => s.state)).toEqual(['done']);
    expect(session.run?.warnings).toEqual(['slow']);
  });
});
