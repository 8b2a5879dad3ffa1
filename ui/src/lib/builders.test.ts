import { describe, expect, it } from 'vitest';
import {
  awayEngine,
  cliActions,
  currentBuilder,
  driverOptItems,
  hasNodeDetails,
  relativeTime,
  rowActions,
  shownStatus,
  statusTone,
  unknownNodes,
} from './builders';
import type { Builder, BuilderNode, EngineStatus, NodeStatus } from './types';

function node(status: NodeStatus, extra: Partial<BuilderNode> = {}): BuilderNode {
  return {
    name: 'n0',
    endpoint: 'unix:///var/run/docker.sock',
    status,
    buildkitVersion: null,
    platforms: [],
    flags: [],
    driverOpts: {},
    files: [],
    labels: {},
    gcPolicy: [],
    workerIds: [],
    error: null,
    inactiveReason: null,
    ...extra,
  };
}

function builder(extra: Partial<Builder>): Builder {
  return {
    name: 'b',
    driver: 'docker-container',
    current: false,
    contextBuilder: false,
    dynamic: false,
    lastActivity: null,
    nodes: [node('inactive')],
    routes: [],
    offered: [],
    error: null,
    ...extra,
  };
}

describe('row actions', () => {
  it('offers Boot for a container builder that is not running', () => {
    expect(rowActions(builder({}))).toEqual({ use: true, boot: true, stop: false, remove: true, append: true, leave: false });
    expect(rowActions(builder({ nodes: [node('stopped')] })).boot).toBe(true);
  });

  it('offers Stop, not Boot, for a running container builder', () => {
    expect(rowActions(builder({ nodes: [node('running')] }))).toEqual({ use: true, boot: false, stop: true, remove: true, append: true, leave: false });
  });

  it('offers both for a multi-node builder with one node down', () => {
    const a = rowActions(builder({ nodes: [node('running'), node('stopped')] }));
    expect(a.boot).toBe(true);
    expect(a.stop).toBe(true);
  });

  it('never offers Stop or Remove for a context builder', () => {
    const a = rowActions(builder({ driver: 'docker', contextBuilder: true, nodes: [node('running')] }));
    expect(a).toEqual({ use: true, boot: false, stop: false, remove: false, append: false, leave: false });
  });

  it('offers neither Boot nor Stop for other drivers', () => {
    const a = rowActions(builder({ driver: 'remote', nodes: [node('inactive')] }));
    expect(a.boot).toBe(false);
    expect(a.stop).toBe(false);
    expect(a.remove).toBe(true);
  });

  it('lets an unreadable builder be removed but not booted', () => {
    const a = rowActions(builder({ nodes: [], error: 'corrupt store file' }));
    expect(a).toEqual({ use: true, boot: false, stop: false, remove: true, append: false, leave: false });
  });
});

describe('nodes', () => {
  it('lets a node leave only a builder of several, and names each in Copy as CLI', () => {
    const farm = builder({ name: 'farm', driver: 'remote', nodes: [node('running', { name: 'farm0' }), node('running', { name: 'arm' })] });
    expect(rowActions(farm).leave).toBe(true);
    expect(rowActions(builder({ driver: 'remote', nodes: [node('running')] })).leave).toBe(false);
    expect(cliActions(farm).filter((e) => e.action.action === 'leave').map((e) => e.action)).toEqual([
      { action: 'leave', name: 'farm', node: 'farm0' },
      { action: 'leave', name: 'farm', node: 'arm' },
    ]);
  });
});

describe('status', () => {
  it('maps each status to a tone', () => {
    expect(statusTone('running')).toBe('ok');
    expect(statusTone('inactive')).toBe('idle');
    expect(statusTone('stopped')).toBe('warn');
    expect(statusTone('error')).toBe('bad');
  });
});

describe('list helpers', () => {
  it('finds the current builder', () => {
    const list = { context: 'default', problems: [], builders: [builder({ name: 'a' }), builder({ name: 'b', current: true })] };
    expect(currentBuilder(list)?.name).toBe('b');
    expect(currentBuilder({ ...list, builders: [] })).toBeNull();
    expect(currentBuilder(null)).toBeNull();
  });

  it('lists driver options sorted by key and knows when a node has details', () => {
    const n = node('running', { driverOpts: { 'network': 'host', 'image': 'moby/buildkit:v0.17.0' } });
    expect(driverOptItems(n)).toEqual(['image=moby/buildkit:v0.17.0', 'network=host']);
    expect(hasNodeDetails(n)).toBe(true);
    expect(hasNodeDetails(node('running'))).toBe(false);
    expect(hasNodeDetails(node('running', { flags: ['--debug'] }))).toBe(true);
  });
});

describe('relative time', () => {
  const now = new Date('2026-11-30T12:00:00Z');
  it('reads like a person would say it', () => {
    expect(relativeTime(null, now)).toBeNull();
    expect(relativeTime('not a date', now)).toBeNull();
    expect(relativeTime('2026-11-30T11:59:50Z', now)).toBe('just now');
    expect(relativeTime('2026-11-30T11:55:00Z', now)).toBe('5 min ago');
    expect(relativeTime('2026-11-30T09:00:00Z', now)).toBe('3 h ago');
    expect(relativeTime('2026-11-28T12:00:00Z', now)).toBe('2 d ago');
    expect(relativeTime('2026-01-02T08:00:00Z', now)).toBe('2026-01-02');
  });
});

describe('copy as CLI entries', () => {
  it('follows the row actions', () => {
    expect(cliActions(builder({ name: 'x' })).map((e) => e.action)).toEqual([
      { action: 'use', name: 'x', options: { global: false, default: false } },
      { action: 'boot', name: 'x' },
      { action: 'remove', name: 'x', options: { keepState: false, keepDaemon: false } },
    ]);
    const ctx = builder({ name: 'default', driver: 'docker', contextBuilder: true, nodes: [node('running')] });
    expect(cliActions(ctx).map((e) => e.label)).toEqual(['Use']);
    expect(cliActions(builder({ nodes: [node('running')] })).map((e) => e.label)).toEqual(['Use', 'Stop', 'Remove']);
  });
});

describe('while the engine is away', () => {
  const down: EngineStatus = {
    state: 'unreachable',
    host: 'unix:///var/run/docker.sock',
    message: 'engine at unix:///var/run/docker.sock unreachable: connection refused',
    retryInMs: 1000,
  };
  const up: EngineStatus = {
    state: 'reachable',
    host: 'unix:///var/run/docker.sock',
    info: { version: '26.1.5', apiVersion: '1.45', os: 'linux', arch: 'amd64' },
  };
  const amd64 = { platform: 'linux/amd64', emulated: false, pinned: false };
  const defaultBuilder = builder({
    name: 'default',
    driver: 'docker',
    contextBuilder: true,
    nodes: [node('running', { name: 'default', endpoint: 'default', platforms: [amd64] })],
  });

  it('shows the default builder’s node as unknown, not as the last answer’s “running”', () => {
    const away = awayEngine(down, 'default');
    expect(away).toEqual({ context: 'default', host: 'unix:///var/run/docker.sock' });
    const unknown = unknownNodes(defaultBuilder, away);
    expect(shownStatus(defaultBuilder.nodes[0], unknown)).toBe('unknown');
    expect(statusTone('unknown')).toBe('idle');
  });

  it('knows node states again once the engine answers, and before its first status', () => {
    expect(awayEngine(up, 'default')).toBeNull();
    expect(awayEngine(null, 'default')).toBeNull();
    expect(shownStatus(defaultBuilder.nodes[0], unknownNodes(defaultBuilder, null))).toBe('running');
  });

  it('marks container nodes on that engine (by context or host), not remote ones or other contexts’', () => {
    const away = awayEngine(down, 'default');
    const container = builder({
      nodes: [
        node('running', { name: 'c0', endpoint: 'default' }),
        node('running', { name: 'c1', endpoint: 'unix:///var/run/docker.sock' }),
        node('running', { name: 'c2', endpoint: 'other-context' }),
      ],
    });
    expect([...unknownNodes(container, away)]).toEqual(['c0', 'c1']);
    const remote = builder({ driver: 'remote', nodes: [node('running', { endpoint: 'default' })] });
    expect(unknownNodes(remote, away).size).toBe(0);
  });

  it('counts a node that has not answered the list yet as unknown, engine or not', () => {
    const slow = builder({ nodes: [node('unknown', { name: 'c0' }), node('running', { name: 'c1' })] });
    expect([...unknownNodes(slow, null)]).toEqual(['c0']);
    expect(rowActions(slow, unknownNodes(slow, null))).toMatchObject({ boot: false, stop: false });
    const remote = builder({ driver: 'remote', nodes: [node('unknown', { name: 'r0' })] });
    expect([...unknownNodes(remote, null)]).toEqual(['r0']);
  });

  it('offers neither boot nor stop for a node whose state is unknown', () => {
    const container = builder({ nodes: [node('running', { name: 'c0', endpoint: 'default' })] });
    const unknown = unknownNodes(container, awayEngine(down, 'default'));
    expect(rowActions(container, unknown)).toEqual({ use: true, boot: false, stop: false, remove: true, append: true, leave: false });
  });
});
