import { describe, expect, it, vi } from 'vitest';
import type { BuildComparison, ComparedStep } from '../types';
import { BuildCompare, compareCandidates, reasonText, runWord, stepLabel, type CompareApi } from './compare.svelte';
import { entry } from './testEntries';

function step(partial: Partial<ComparedStep> = {}): ComparedStep {
  return {
    platform: null,
    stage: null,
    instruction: 'RUN make',
    position: '2/2',
    dockerfileLine: { start: 2, end: 2 },
    source: ['RUN make'],
    older: 'cached',
    newer: 'ran',
    missed: true,
    reasons: [{ kind: 'buildArgChanged', name: 'GREETING', older: 'hello', newer: null }],
    ...partial,
  };
}

function comparison(): BuildComparison {
  const build = (buildRef: string) => ({
    buildRef,
    name: 'app',
    createdAt: '2026-12-01T10:00:00Z',
    status: 'completed' as const,
    stepsTotal: 2,
    stepsCached: 1,
    hasDefinitions: true,
  });
  return { older: build('a'), newer: build('b'), steps: [step()], firstMiss: 0, differences: [] };
}

/** A fake of the core's compare command: it answers when told to. */
function fakeApi() {
  const answers: ((c: BuildComparison) => void)[] = [];
  const api = {
    newOperationId: vi.fn(() => `op-${answers.length}`),
    compareBuilds: vi.fn<CompareApi['compareBuilds']>(() => new Promise((resolve) => answers.push(resolve))),
    cancelOperation: vi.fn<CompareApi['cancelOperation']>(async () => true),
  };
  return { api, answer: (i: number, c: BuildComparison) => answers[i](c) };
}

describe('comparing build records', () => {
  it('offers the earlier builds of the same name first, newest first, and never a running one', () => {
    const shown = entry('now', { name: 'app', createdAt: '2026-12-01T12:00:00Z' });
    const list = [
      shown,
      entry('other', { name: 'web', createdAt: '2026-12-01T11:30:00Z' }),
      entry('old', { name: 'app', createdAt: '2026-12-01T09:00:00Z' }),
      entry('prev', { name: 'app', createdAt: '2026-12-01T11:00:00Z' }),
      entry('later', { name: 'app', createdAt: '2026-12-01T13:00:00Z' }),
      entry('running', { name: 'app', status: 'running', createdAt: '2026-12-01T10:00:00Z' }),
    ];
    expect(compareCandidates(shown, list).map((e) => e.buildRef)).toEqual(['prev', 'old', 'later', 'other']);
  });

  it('says each reason in words, and names a step as BuildKit does', () => {
    expect(reasonText({ kind: 'buildArgChanged', name: 'GREETING', older: 'hello', newer: null })).toBe(
      'build arg GREETING changed: "hello" → not set',
    );
    expect(reasonText({ kind: 'contextFilesChanged', source: 'context', paths: ['app.txt', 'lib/'] })).toBe(
      'the files it reads from the build context changed: app.txt, lib/',
    );
    expect(reasonText({ kind: 'earlierStepMissed', step: '[2/3] RUN make', dockerfileLine: { start: 4, end: 4 } })).toBe(
      'a step it builds on missed first: [2/3] RUN make (line 4)',
    );
    expect(stepLabel(step({ platform: 'linux/arm64', stage: 'build', position: '2/3' }))).toBe('[linux/arm64 build 2/3] RUN make');
    expect(stepLabel(step({ position: null }))).toBe('RUN make');
    expect(runWord('notRun')).toBe('not run');
  });

  it('shows only the newest comparison asked for, and a cancel stops it', async () => {
    const { api, answer } = fakeApi();
    const compare = new BuildCompare(api);
    const first = compare.run('', 'a', 'b');
    expect(compare.busy).toBe(true);
    const second = compare.run('', 'a', 'c');
    expect(api.cancelOperation).toHaveBeenCalledWith('op-0');
    answer(0, comparison());
    await first;
    expect(compare.result).toBeNull();
    answer(1, comparison());
    await second;
    expect(compare.result?.firstMiss).toBe(0);
    expect(compare.busy).toBe(false);

    const third = compare.run('', 'a', 'b');
    compare.cancel();
    expect(compare.busy).toBe(false);
    expect(api.cancelOperation).toHaveBeenLastCalledWith('op-2');
    answer(2, comparison());
    await third;
    expect(compare.result).toBeNull();
  });
});
