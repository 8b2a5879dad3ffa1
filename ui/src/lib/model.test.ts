import { describe, expect, it, vi } from 'vitest';
import { AppModel, type Api } from './model.svelte';
import type { BuilderList, ContextList, EngineStatus, LifecycleEvent } from './types';

const contexts = (selected: string): ContextList => ({
  contexts: [
    { name: 'default', description: '', host: 'unix:///var/run/docker.sock', current: true },
    { name: 'remote', description: '', host: 'tcp://10.0.0.2:2376', current: false },
  ],
  selected,
  problems: [],
});

const list = (context: string, names: string[]): BuilderList => ({
  context,
  problems: [],
  builders: names.map((name) => ({
    name,
    driver: 'docker-container',
    current: false,
    contextBuilder: false,
    dynamic: false,
    lastActivity: null,
    nodes: [],
    routes: [],
    offered: [],
    error: null,
  })),
});

const up: EngineStatus = { state: 'reachable', host: 'h', info: { version: '28', apiVersion: '1.49', os: 'linux', arch: 'amd64' } };
const down: EngineStatus = { state: 'unreachable', host: 'h', message: 'engine at h unreachable: refused', retryInMs: 1000 };

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function fakeApi(overrides: Partial<Api> = {}) {
  const watchers: Array<(s: EngineStatus) => void> = [];
  const storeWatchers: Array<() => void> = [];
  let ids = 0;
  const api = {
    newOperationId: () => `op-${++ids}`,
    listContexts: vi.fn(async () => contexts('default')),
    selectContext: vi.fn(async (name: string) => contexts(name)),
    watchEngine: vi.fn(async (on: (s: EngineStatus) => void) => {
      watchers.push(on);
    }),
    watchBuilders: vi.fn(async (on: () => void) => {
      storeWatchers.push(on);
    }),
    listBuilders: vi.fn(async () => list('default', ['a', 'b'])),
    createBuilder: vi.fn(async (req: { name: string }) => req.name),
    bootBuilder: vi.fn(async () => {}),
    stopBuilder: vi.fn(async () => {}),
    removeBuilder: vi.fn(async () => {}),
    useBuilder: vi.fn(async () => {}),
    leaveBuilderNode: vi.fn(async () => {}),
    cancelOperation: vi.fn(async () => true),
    cliCommand: vi.fn(async () => 'docker buildx ls'),
    ...overrides,
  } as unknown as Api;
  return { api, watchers, storeWatchers };
}

describe('AppModel start-up', () => {
  it('shows the builders as they stand while a slow node is asked, then its answer', async () => {
    const last = deferred<BuilderList>();
    let partial!: (l: BuilderList) => void;
    const listBuilders = vi.fn((onPartial: (l: BuilderList) => void) => {
      partial = onPartial;
      return last.promise;
    });
    const { api } = fakeApi({ listBuilders: listBuilders as unknown as Api['listBuilders'] });
    const m = new AppModel(api);
    const started = m.start();
    await vi.waitFor(() => expect(listBuilders).toHaveBeenCalled());
    partial(list('default', ['a']));
    expect(m.list?.builders.map((b) => b.name)).toEqual(['a']);
    expect(m.loaded).toBe(true);
    expect(m.listing).toBe(true);
    last.resolve(list('default', ['a', 'b']));
    await started;
    expect(m.list?.builders.map((b) => b.name)).toEqual(['a', 'b']);
    expect(m.listing).toBe(false);
  });

  it('lists again when another program changed a builder or a context', async () => {
    const { api, storeWatchers } = fakeApi();
    const m = new AppModel(api);
    await m.start();
    expect(storeWatchers).toHaveLength(1);
    vi.mocked(api.listBuilders).mockResolvedValueOnce(list('default', ['a', 'b', 'from-the-terminal']));
    storeWatchers[0]();
    await vi.waitFor(() => expect(m.list?.builders.map((b) => b.name)).toContain('from-the-terminal'));
  });

  it('loads contexts and builders and watches the engine', async () => {
    const { api, watchers } = fakeApi();
    const m = new AppModel(api);
    expect(m.loaded).toBe(false);
    await m.start();
    expect(m.loaded).toBe(true);
    expect(m.contexts?.selected).toBe('default');
    expect(m.list?.builders.map((b) => b.name)).toEqual(['a', 'b']);
    expect(watchers.length).toBe(1);
    watchers[0](up);
    expect(m.engine).toEqual(up);
  });

  it('keeps going when listing fails, and says it loaded', async () => {
    const { api } = fakeApi({ listBuilders: vi.fn(async () => Promise.reject({ code: 'storeLocked', message: 'locked' })) });
    const m = new AppModel(api);
    await m.start();
    expect(m.loaded).toBe(true);
    expect(m.list).toBeNull();
    expect(m.listError).toEqual({ code: 'storeLocked', message: 'locked' });
  });

  it('reports a failed engine watch', async () => {
    const { api } = fakeApi({ watchEngine: vi.fn(async () => Promise.reject({ code: 'notFound', message: 'no context' })) });
    const m = new AppModel(api);
    await m.start();
    await Promise.resolve();
    expect(m.engineError?.code).toBe('notFound');
  });
});

describe('engine status', () => {
  it('re-lists builders when the engine comes back, not on every status', async () => {
    const { api, watchers } = fakeApi();
    const m = new AppModel(api);
    await m.start();
    const calls = () => (api.listBuilders as ReturnType<typeof vi.fn>).mock.calls.length;
    expect(calls()).toBe(1);
    watchers[0](up);
    watchers[0](down);
    expect(calls()).toBe(1);
    watchers[0](up);
    expect(calls()).toBe(2);
  });

  it('says which engine is away while it is, so node states from it read unknown', async () => {
    const { api, watchers } = fakeApi();
    const m = new AppModel(api);
    await m.start();
    expect(m.away).toBeNull();
    watchers[0](up);
    expect(m.away).toBeNull();
    watchers[0](down);
    expect(m.away).toEqual({ context: 'default', host: 'h' });
    watchers[0](up);
    expect(m.away).toBeNull();
  });

  it('drops statuses from the watch of a previous context', async () => {
    const { api, watchers } = fakeApi();
    const m = new AppModel(api);
    await m.start();
    await m.selectContext('remote');
    expect(watchers.length).toBe(2);
    watchers[0](down);
    expect(m.engine).toBeNull();
    watchers[1](up);
    expect(m.engine).toEqual(up);
  });
});

describe('context switching', () => {
  it('selects, re-watches and re-lists', async () => {
    const { api } = fakeApi();
    const m = new AppModel(api);
    await m.start();
    (api.listBuilders as ReturnType<typeof vi.fn>).mockResolvedValueOnce(list('remote', ['r']));
    await m.selectContext('remote');
    expect(api.selectContext).toHaveBeenCalledWith('remote');
    expect(m.contexts?.selected).toBe('remote');
    expect(m.list?.context).toBe('remote');
  });

  it('keeps the old context and shows the error when selecting fails', async () => {
    const { api } = fakeApi({ selectContext: vi.fn(async () => Promise.reject({ code: 'notFound', message: 'no context "x"' })) });
    const m = new AppModel(api);
    await m.start();
    await m.selectContext('x');
    expect(m.contexts?.selected).toBe('default');
    expect(m.contextError?.message).toBe('no context "x"');
    expect(api.watchEngine).toHaveBeenCalledTimes(1);
  });

  it('does nothing when the selected context is picked again', async () => {
    const { api } = fakeApi();
    const m = new AppModel(api);
    await m.start();
    await m.selectContext('default');
    expect(api.selectContext).not.toHaveBeenCalled();
  });
});

describe('long operations', () => {
  it('shows progress while booting, then re-lists', async () => {
    const gate = deferred<void>();
    let send: (e: LifecycleEvent) => void = () => {};
    const { api } = fakeApi({
      bootBuilder: vi.fn(async (_n: string, _op: string, on: (e: LifecycleEvent) => void) => {
        send = on;
        return gate.promise;
      }),
    });
    const m = new AppModel(api);
    await m.start();
    const done = m.boot('a');
    expect(m.busy('a')).toBe(true);
    expect(m.operations.a.text).toBe('Booting a…');
    send({ step: 'waitingForBuildkit', attempt: 2 });
    expect(m.operations.a.text).toBe('Waiting for BuildKit (attempt 2)');
    expect(api.bootBuilder).toHaveBeenCalledWith('a', 'op-1', expect.any(Function));
    gate.resolve();
    await done;
    expect(m.busy('a')).toBe(false);
    expect(api.listBuilders).toHaveBeenCalledTimes(2);
  });

  it('cancels by operation id and reports the cancellation with a retry', async () => {
    const gate = deferred<void>();
    const { api } = fakeApi({ stopBuilder: vi.fn(async () => gate.promise) });
    const m = new AppModel(api);
    await m.start();
    const done = m.stop('b');
    await m.cancel(m.operations.b.id);
    expect(api.cancelOperation).toHaveBeenCalledWith('op-1');
    gate.reject({ code: 'cancelled', message: 'stop was cancelled' });
    await done;
    expect(m.failures.b.error.code).toBe('cancelled');
    expect(m.failures.b.retry).not.toBeNull();
    expect(m.busy('b')).toBe(false);
  });

  it('keeps the failure next to the builder and retries the same action', async () => {
    const remove = vi
      .fn()
      .mockRejectedValueOnce({ code: 'storeLocked', message: 'store is locked' })
      .mockResolvedValueOnce(undefined);
    const { api } = fakeApi({ removeBuilder: remove as unknown as Api['removeBuilder'] });
    const m = new AppModel(api);
    await m.start();
    await m.remove('a', { keepState: true, keepDaemon: false });
    expect(m.failures.a).toMatchObject({ action: 'remove', error: { code: 'storeLocked' } });
    m.failures.a.retry?.();
    await vi.waitFor(() => expect(remove).toHaveBeenCalledTimes(2));
    expect(remove.mock.calls[1].slice(0, 2)).toEqual(['a', { keepState: true, keepDaemon: false }]);
    await vi.waitFor(() => expect(m.failures.a).toBeUndefined());
  });

  it('runs one operation per builder at a time', async () => {
    const gate = deferred<void>();
    const { api } = fakeApi({ bootBuilder: vi.fn(async () => gate.promise) });
    const m = new AppModel(api);
    await m.start();
    const first = m.boot('a');
    await m.boot('a');
    expect(api.bootBuilder).toHaveBeenCalledTimes(1);
    gate.resolve();
    await first;
  });

  it('uses a builder and reports failures', async () => {
    const { api } = fakeApi({ useBuilder: vi.fn(async () => Promise.reject({ code: 'notFound', message: 'gone' })) });
    const m = new AppModel(api);
    await m.start();
    await m.use('a', { global: true, default: false });
    expect(api.useBuilder).toHaveBeenCalledWith('a', { global: true, default: false });
    expect(m.failures.a.action).toBe('use');
    m.dismissFailure('a');
    expect(m.failures.a).toBeUndefined();
  });
});

describe('create', () => {
  const request = {
    name: 'new',
    driver: 'docker-container',
    endpoint: '',
    driverOpts: [],
    buildkitdFlags: '',
    buildkitdConfig: null,
    platforms: [],
    useBuilder: false,
    bootstrap: true,
    append: false,
    node: '',
  };

  it('streams progress and returns the name', async () => {
    const gate = deferred<string>();
    let send: (e: LifecycleEvent) => void = () => {};
    const { api } = fakeApi({
      createBuilder: vi.fn(async (_r: unknown, _op: string, on: (e: LifecycleEvent) => void) => {
        send = on;
        return gate.promise;
      }) as unknown as Api['createBuilder'],
    });
    const m = new AppModel(api);
    await m.start();
    const done = m.create(request);
    expect(m.creating?.text).toBe('Creating builder new…');
    send({ step: 'pullingImage', image: 'moby/buildkit', status: 'Downloading', current: 5, total: 10 });
    expect(m.creating?.fraction).toBe(0.5);
    gate.resolve('new');
    expect(await done).toBe('new');
    expect(m.creating).toBeNull();
    expect(m.createError).toBeNull();
  });

  it('keeps the core validation error for the form', async () => {
    const { api } = fakeApi({
      createBuilder: vi.fn(async () =>
        Promise.reject({ code: 'invalidInput', message: 'invalid driver option "image": expected key=value' }),
      ) as unknown as Api['createBuilder'],
    });
    const m = new AppModel(api);
    await m.start();
    expect(await m.create(request)).toBeNull();
    expect(m.createError?.code).toBe('invalidInput');
    m.clearCreateError();
    expect(m.createError).toBeNull();
  });
});

describe('listing', () => {
  it('drops an answer overtaken by a later request', async () => {
    const slow = deferred<BuilderList>();
    const fast = deferred<BuilderList>();
    const listBuilders = vi.fn().mockReturnValueOnce(slow.promise).mockReturnValueOnce(fast.promise);
    const { api } = fakeApi({ listBuilders: listBuilders as unknown as Api['listBuilders'] });
    const m = new AppModel(api);
    const a = m.refresh();
    const b = m.refresh();
    fast.resolve(list('default', ['new']));
    await b;
    slow.resolve(list('default', ['old']));
    await a;
    expect(m.list?.builders.map((x) => x.name)).toEqual(['new']);
  });
});
