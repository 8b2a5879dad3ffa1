import { describe, expect, it } from 'vitest';
import type { BuildOutcome } from '../types';
import { failureView, sourceWindow } from './failure';
import { platformResult, step } from './testSteps';

const DOCKERFILE = [
  '# syntax=docker/dockerfile:1',
  'FROM --platform=$TARGETPLATFORM 127.0.0.1:5055/busybox:latest AS base',
  'ARG X=1',
  'RUN echo one && \\',
  '    echo two',
  '',
  'RUN [ "$(uname -m)" != "aarch64" ]',
].join('\n');

const failedRun = step({
  id: 'v3',
  lane: 'linux/arm64',
  name: 'RUN [ "$(uname -m)" != "aarch64" ]',
  position: '3/3',
  state: 'failed',
});

function outcome(partial: Partial<BuildOutcome['failure']> = {}): BuildOutcome {
  return {
    buildRef: 'ref',
    builder: 'default',
    state: 'failed',
    digest: null,
    platforms: [],
    tags: [],
    durationMs: 1000,
    steps: [failedRun],
    exporterResponse: {},
    platformResults: [],
    failure: {
      message: 'process "/bin/sh -c [ ... ]" did not complete successfully: exit code: 1',
      platform: 'linux/arm64',
      step: failedRun,
      dockerfileLine: 7,
      dockerfileEndLine: null,
      dockerfileName: null,
      dockerfileSource: null,
      vertex: null,
      exitCode: null,
      lastLines: ['boom'],
      succeededPlatforms: ['linux/amd64'],
      node: null,
      ...partial,
    },
  };
}

describe('failure summary', () => {
  it('names the platform and step, marks the line in the source and says how the others ended', () => {
    const view = failureView(outcome(), DOCKERFILE, ['linux/amd64', 'linux/arm64', 'linux/arm/v7'])!;
    expect(view.platform).toBe('linux/arm64');
    expect(view.stepLabel).toBe('3/3 RUN [ "$(uname -m)" != "aarch64" ]');
    expect(view.line).toBe(7);
    expect(view.source.filter((l) => l.marked)).toEqual([{ n: 7, text: 'RUN [ "$(uname -m)" != "aarch64" ]', marked: true }]);
    expect(view.platforms).toEqual([
      { platform: 'linux/amd64', state: 'succeeded' },
      { platform: 'linux/arm64', state: 'failed' },
      // No step of it was ever reported.
      { platform: 'linux/arm/v7', state: 'notStarted' },
    ]);
    expect(view.lastLines).toEqual(['boom']);
    expect(view.node).toBeNull();
  });

  it('takes how each platform ended from its own solve, and offers to retry the ones that did not succeed', () => {
    const kept: BuildOutcome = {
      ...outcome({ succeededPlatforms: [] }),
      platformResults: [
        platformResult('linux/amd64', 'succeeded'),
        platformResult('linux/arm64', 'failed'),
        platformResult('linux/riscv64', 'cancelled'),
      ],
    };
    const view = failureView(kept, DOCKERFILE, ['linux/amd64', 'linux/arm64', 'linux/riscv64'])!;
    expect(view.platforms).toEqual([
      { platform: 'linux/amd64', state: 'succeeded' },
      { platform: 'linux/arm64', state: 'failed' },
      { platform: 'linux/riscv64', state: 'unfinished' },
    ]);
    expect(view.retryable).toEqual(['linux/arm64', 'linux/riscv64']);
    // One solve for every platform: nothing to retry alone.
    expect(failureView(outcome(), DOCKERFILE, [])!.retryable).toEqual([]);
  });

  it('names the node that failed a build split across nodes', () => {
    const view = failureView(outcome({ node: 'arm', message: 'node arm (linux/arm64): went away' }), DOCKERFILE, [])!;
    expect([view.node, view.platform]).toEqual(['arm', 'linux/arm64']);
  });

  it('says platforms never started when the Dockerfile did not parse, and names the line BuildKit reported', () => {
    const definition = step({ id: 'def', lane: 'shared', name: 'load build definition from Dockerfile' });
    const sent = 'FROM 127.0.0.1:5055/busybox:latest\nRUN echo hi\nFOO bar\n';
    const parse = outcome({
      message: 'dockerfile parse error on line 3: unknown instruction: FOO (did you mean FROM?)',
      platform: null,
      step: null,
      dockerfileLine: 3,
      dockerfileEndLine: 3,
      dockerfileName: 'Dockerfile',
      dockerfileSource: sent,
      lastLines: [],
      succeededPlatforms: [],
      node: null,
    });
    const view = failureView({ ...parse, steps: [definition] }, sent, ['linux/amd64', 'linux/arm64'])!;
    expect(view.platforms).toEqual([
      { platform: 'linux/amd64', state: 'notStarted' },
      { platform: 'linux/arm64', state: 'notStarted' },
    ]);
    expect([view.file, view.line]).toEqual(['Dockerfile', 3]);
    expect(view.source.filter((l) => l.marked)).toEqual([{ n: 3, text: 'FOO bar', marked: true }]);
  });

  it('says a platform that started and was cut short did not finish', () => {
    const started = step({ id: 'v7', lane: 'linux/arm/v7', state: 'running', completedMs: null });
    const view = failureView({ ...outcome(), steps: [failedRun, started] }, DOCKERFILE, ['linux/arm64', 'linux/arm/v7'])!;
    expect(view.platforms).toEqual([
      { platform: 'linux/arm64', state: 'failed' },
      { platform: 'linux/arm/v7', state: 'unfinished' },
    ]);
  });

  it("shows BuildKit's location: its copy of the Dockerfile, the file name, the whole span and the exit code", () => {
    const sent = 'FROM x\nRUN false \\\n    || exit 3\n';
    const view = failureView(
      outcome({ dockerfileLine: 2, dockerfileEndLine: 3, dockerfileName: 'app.Dockerfile', dockerfileSource: sent, exitCode: 3 }),
      DOCKERFILE,
      [],
    )!;
    expect([view.line, view.endLine, view.file, view.exitCode]).toEqual([2, 3, 'app.Dockerfile', 3]);
    expect(view.source.filter((l) => l.marked).map((l) => l.text)).toEqual(['RUN false \\', '    || exit 3']);
  });

  it('marks no line when the core could not tell one, and works without source', () => {
    const unplaced = failureView(outcome({ dockerfileLine: null }), DOCKERFILE, [])!;
    expect([unplaced.line, unplaced.endLine]).toEqual([null, null]);
    expect(unplaced.source.some((l) => l.marked)).toBe(false);
    const bare = failureView(outcome(), null, [])!;
    expect(bare.source).toEqual([]);
    expect(bare.line).toBe(7);
    const succeeded = { ...outcome(), state: 'succeeded' as const, failure: null };
    expect(failureView(succeeded, DOCKERFILE, [])).toBeNull();
  });

  it('shows a window around the line of a long file', () => {
    const long = Array.from({ length: 100 }, (_, i) => `RUN echo ${i + 1}`).join('\n');
    const w = sourceWindow(long, 50, 3);
    expect(w.map((l) => l.n)).toEqual([47, 48, 49, 50, 51, 52, 53]);
    expect(sourceWindow(long, 99, 3).map((l) => l.n)).toEqual([94, 95, 96, 97, 98, 99, 100]);
    expect(sourceWindow('', 1)).toEqual([]);
  });
});
