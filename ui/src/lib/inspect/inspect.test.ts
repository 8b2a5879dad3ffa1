import { describe, expect, it, vi } from 'vitest';
import type { BuilderInspection, LifecycleEvent, NodeStatus } from '../types';
import { canBootstrap, InspectState, type InspectApi } from './inspect.svelte';

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const inspection = (status: NodeStatus, version: string | null = null): BuilderInspection => ({
  name: 'arm',
  driver: 'docker-container',
  contextBuilder: false,
  dynamic: false,
  lastActivity: '2026-12-01T12:47:26Z',
  nodes: [
    {
      node: {
        name: 'arm0',
        endpoint: 'default',
        status,
        buildkitVersion: version,
        platforms: [],
        flags: [],
        driverOpts: {},
        files: [],
        labels: {},
        gcPolicy: [],
        workerIds: [],
        error: null,
        inactiveReason: null,
      },
      gcRules: [],
      files: [],
      details: { kind: 'container', host: 'unix:///run/docker.sock', container: 'buildx_buildkit_arm0', image: 'moby/buildkit:buildx-stable-1', state: null, stateVolume: 'buildx_buildkit_arm0_state' },
    },
  ],
});

function fakeApi(overrides: Partial<InspectApi> = {}) {
  let ids = 0;
  return {
    newOperationId: () => `op-${++ids}`,
    inspectBuilder: vi.fn<InspectApi['inspectBuilder']>(async () => inspection('inactive')),
    cancelOperation: vi.fn<InspectApi['cancelOperation']>(async () => true),
    cliCommand: vi.fn<InspectApi['cliCommand']>(async () => 'docker buildx inspect arm'),
    ...overrides,
  };
}

describe('the Inspect panel', () => {
  it('loads the inspection without booting, and offers Bootstrap while a node is not running', async () => {
    const api = fakeApi();
    const state = new InspectState(api, 'arm', () => {});
    await state.load();
    expect(api.inspectBuilder).toHaveBeenCalledWith('arm', false, 'op-1', expect.any(Function));
    expect(state.inspection?.nodes[0].node.status).toBe('inactive');
    expect(canBootstrap(state.inspection)).toBe(true);
    expect(canBootstrap(inspection('running'))).toBe(false);
    expect(canBootstrap(null)).toBe(false);
  });

  it('shows bootstrap progress, then the booted builder, and tells the list', async () => {
    const answer = deferred<BuilderInspection>();
    let report: (e: LifecycleEvent) => void = () => {};
    const api = fakeApi({
      inspectBuilder: vi.fn<InspectApi['inspectBuilder']>(async (_name, _bootstrap, _op, on) => {
        report = on;
        return answer.promise;
      }),
    });
    const booted = vi.fn();
    const state = new InspectState(api, 'arm', booted);
    const running = state.bootstrap();
    expect(state.booting?.text).toBe('Booting arm…');
    report({ step: 'startingContainer', container: 'buildx_buildkit_arm0' });
    expect(state.booting?.text).toBe('Starting container buildx_buildkit_arm0');
    answer.resolve(inspection('running', 'v0.13.1'));
    await running;
    expect(state.booting).toBeNull();
    expect(state.inspection?.nodes[0].node.buildkitVersion).toBe('v0.13.1');
    expect(booted).toHaveBeenCalledOnce();
  });

  it('cancels a bootstrap by its operation id and shows the error, keeping what it knew', async () => {
    const answer = deferred<BuilderInspection>();
    const inspectBuilder = vi.fn<InspectApi['inspectBuilder']>(async () => inspection('inactive'));
    const api = fakeApi({ inspectBuilder });
    const state = new InspectState(api, 'arm', () => {});
    await state.load();
    inspectBuilder.mockImplementationOnce(async () => answer.promise);
    const running = state.bootstrap();
    await state.cancel();
    expect(api.cancelOperation).toHaveBeenCalledWith('op-2');
    answer.reject({ code: 'cancelled', message: 'booting the builder was cancelled' });
    await running;
    expect(state.error?.code).toBe('cancelled');
    expect(state.inspection?.nodes[0].node.status).toBe('inactive');
    expect(state.booting).toBeNull();
  });

  it('drops an answer overtaken by a later request', async () => {
    const first = deferred<BuilderInspection>();
    const inspectBuilder = vi.fn<InspectApi['inspectBuilder']>(async () => inspection('inactive'));
    inspectBuilder.mockImplementationOnce(async () => first.promise);
    const api = fakeApi({ inspectBuilder });
    const state = new InspectState(api, 'arm', () => {});
    const slow = state.load();
    await state.load();
    first.resolve(inspection('error'));
    await slow;
    expect(state.inspection?.nodes[0].node.status).toBe('inactive');
  });

  it('asks the core for the command line', async () => {
    const api = fakeApi();
    const state = new InspectState(api, 'arm', () => {});
    await state.cliCommand(true);
    expect(api.cliCommand).toHaveBeenCalledWith({ action: 'inspect', name: 'arm', bootstrap: true });
  });
});
