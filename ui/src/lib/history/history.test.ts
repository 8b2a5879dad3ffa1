import { describe, expect, it, vi } from 'vitest';
import type { HistoryEvent } from '../types';
import { BuildHistoryList, entryTitle, historyOrder, stepsText, type HistoryApi } from './history.svelte';
import { entry } from './testEntries';

function fakeApi() {
  let emit: (events: HistoryEvent[]) => void = () => {};
  const api = {
    newOperationId: () => 'op-1',
    watchBuildHistory: vi.fn<HistoryApi['watchBuildHistory']>((_builder, _op, onEvents) => {
      emit = onEvents;
      return new Promise(() => {});
    }),
    historySupport: vi.fn<HistoryApi['historySupport']>(async () => ({
      severalNodes: false,
      nodes: [{ node: 'default', buildkit: 'BuildKit v0.20.0', missing: [] }],
      unreachable: [],
    })),
    cancelOperation: vi.fn<HistoryApi['cancelOperation']>(async () => true),
    pinBuild: vi.fn<HistoryApi['pinBuild']>(async () => {}),
    deleteBuild: vi.fn<HistoryApi['deleteBuild']>(async () => {}),
  };
  return { api, emit: (events: HistoryEvent[]) => emit(events) };
}

describe('build history list', () => {
  it('orders running builds first, then newest first, as buildx history ls does', () => {
    const old = entry('a', { createdAt: '2026-12-01T09:00:00Z' });
    const recent = entry('b', { createdAt: '2026-12-01T11:00:00Z' });
    const running = entry('c', { createdAt: '2026-12-01T08:00:00Z', status: 'running', completedAt: null });
    expect([old, recent, running].sort(historyOrder).map((e) => e.buildRef)).toEqual(['c', 'b', 'a']);
  });

  it('follows started, completed and deleted events by ref', () => {
    const { api, emit } = fakeApi();
    const list = new BuildHistoryList(api);
    void list.watch('');
    expect(list.loaded).toBe(false);
    emit([]);
    expect(list.loaded).toBe(true);
    expect(list.entries).toEqual([]);
    emit([{ kind: 'started', entry: entry('x', { status: 'running', completedAt: null }) }]);
    expect(list.entries.map((e) => e.status)).toEqual(['running']);
    emit([{ kind: 'completed', entry: entry('x') }, { kind: 'completed', entry: entry('y', { createdAt: '2026-12-01T09:00:00Z' }) }]);
    expect(list.entries.map((e) => [e.buildRef, e.status])).toEqual([
      ['x', 'completed'],
      ['y', 'completed'],
    ]);
    emit([{ kind: 'deleted', node: 'default', buildRef: 'x' }]);
    expect(list.entries.map((e) => e.buildRef)).toEqual(['y']);
  });

  it('lists each node\'s record of one ref apart, and names a node that cannot be read', () => {
    const { api, emit } = fakeApi();
    const list = new BuildHistoryList(api);
    void list.watch('farm');
    const failure = { node: 'farm2', code: 'engineUnreachable' as const, message: 'node farm2: cannot reach it' };
    emit([
      { kind: 'completed', entry: entry('split', { node: 'farm0' }) },
      { kind: 'completed', entry: entry('split', { node: 'farm1' }) },
      { kind: 'nodeFailed', failure },
    ]);
    expect(list.entries.map((e) => [e.node, e.buildRef])).toEqual([
      ['farm0', 'split'],
      ['farm1', 'split'],
    ]);
    expect(list.failedNodes).toEqual([failure]);
    expect(list.record('farm1', 'split')?.node).toBe('farm1');
    expect(list.record('farm2', 'split')).toBeUndefined();
    // The project chart of farm1's record opens farm1's record of a ref, not the first listed.
    expect(list.recordIn({ kind: 'builder', builder: 'farm', node: 'farm1' }, 'split')?.node).toBe('farm1');
    expect(list.recordIn({ kind: 'builder', builder: 'farm' }, 'split')?.node).toBe('farm0');
    emit([{ kind: 'deleted', node: 'farm1', buildRef: 'split' }]);
    expect(list.entries.map((e) => e.node)).toEqual(['farm0']);
  });

  it('pins and deletes through the core and shows the change at once', async () => {
    const { api, emit } = fakeApi();
    const list = new BuildHistoryList(api);
    void list.watch('builder-1');
    emit([{ kind: 'completed', entry: entry('x') }]);
    await list.setPinned('x', true);
    expect(api.pinBuild).toHaveBeenCalledWith('builder-1', 'x', true);
    expect(list.get('x')?.pinned).toBe(true);
    expect(await list.remove('x')).toBe(true);
    expect(list.entries).toEqual([]);
    api.deleteBuild.mockRejectedValueOnce({ code: 'notFound', message: 'gone' });
    expect(await list.remove('x')).toBe(false);
    expect(list.actionError?.code).toBe('notFound');
  });

  it('names a row and its steps', () => {
    expect(entryTitle(entry('abcdefghijklmnop'))).toBe('abcdefghijkl');
    expect(entryTitle(entry('r', { name: 'app (release)' }))).toBe('app (release)');
    expect(stepsText(entry('r'))).toBe('4/4 steps · 50% cached');
    expect(stepsText(entry('r', { stepsTotal: 0 }))).toBe('');
  });

  it("learns what the watched builder's BuildKit lacks, and lists its history even when that cannot be learnt", async () => {
    const { api, emit } = fakeApi();
    const lacking = {
      severalNodes: false,
      nodes: [
        {
          node: 'default',
          buildkit: 'BuildKit v0.13.2',
          missing: [{ capability: 'warnings' as const, since: '0.16', note: 'Warnings are not counted, so none are shown (BuildKit 0.16 and later; …).' }],
        },
      ],
      unreachable: [],
    };
    api.historySupport.mockResolvedValueOnce(lacking);
    const list = new BuildHistoryList(api);
    void list.watch('old-builder');
    await vi.waitFor(() => expect(list.support).toEqual(lacking));
    expect(api.historySupport).toHaveBeenCalledWith('old-builder');

    api.historySupport.mockRejectedValueOnce({ code: 'engineUnreachable', message: 'gone' });
    void list.watch('other');
    expect(list.support).toBeNull();
    emit([{ kind: 'completed', entry: entry('x') }]);
    await Promise.resolve();
    expect(list.support).toBeNull();
    expect(list.error).toBeNull();
    expect(list.entries.map((e) => e.buildRef)).toEqual(['x']);
  });
});
