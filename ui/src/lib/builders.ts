// View logic for the Builders view: which row actions to offer, how statuses and times read.
// The list itself comes sorted from the core and is shown in that order.
import type { Builder, BuilderAction, BuilderList, BuilderNode, EngineStatus, NodeStatus } from './types';

const CONTAINER_DRIVER = 'docker-container';

export type StatusTone = 'ok' | 'idle' | 'warn' | 'bad';

/** A node's status as the view shows it: `unknown` while the engine it is reached through is away. */
export type ShownStatus = NodeStatus | 'unknown';

const STATUS_TONE: Record<ShownStatus, StatusTone> = {
  running: 'ok',
  inactive: 'idle',
  stopped: 'warn',
  error: 'bad',
  unknown: 'idle',
};

export function statusTone(status: ShownStatus): StatusTone {
  return STATUS_TONE[status];
}

/** The selected context's engine while its watch says it is unreachable. */
export interface AwayEngine {
  context: string;
  host: string;
}

export function awayEngine(engine: EngineStatus | null, selectedContext: string | null): AwayEngine | null {
  if (engine === null || engine.state === 'reachable' || selectedContext === null) return null;
  return { context: selectedContext, host: engine.host };
}

/**
 * The nodes of `builder` whose state is not known: those that have not answered the list yet
 * (`unknown`), and while `away` is, docker and docker-container nodes on that engine (their
 * endpoint names a context, or its host), so what the last list said about them (running, their
 * platforms) is only as fresh as that answer. Remote nodes are reached without the engine.
 */
export function unknownNodes(builder: Builder, away: AwayEngine | null): ReadonlySet<string> {
  const onAwayEngine = (n: BuilderNode) =>
    away !== null &&
    (builder.driver === 'docker' || builder.driver === CONTAINER_DRIVER) &&
    (n.endpoint === away.context || n.endpoint === away.host);
  return new Set(builder.nodes.filter((n) => n.status === 'unknown' || onAwayEngine(n)).map((n) => n.name));
}

export function shownStatus(node: BuilderNode, unknown: ReadonlySet<string>): ShownStatus {
  return unknown.has(node.name) ? 'unknown' : node.status;
}


export interface RowActions {
  use: boolean;
  boot: boolean;
  stop: boolean;
  remove: boolean;
  /** Add a node (`create --append`): a stored builder whose driver runs daemons elsewhere or in containers. */
  append: boolean;
  /** A node may leave (`create --leave`): the builder has more than one. */
  leave: boolean;
}

/**
 * Which actions a builder's row offers. Boot and Stop are for docker-container builders only
 * (Boot while some node is not running, Stop while some node is), and not while the nodes' state
 * is unknown (`unknown`: their engine is away); a context's own builder exists as long as its
 * context and can be neither stopped nor removed.
 */
export function rowActions(builder: Builder, unknown: ReadonlySet<string> = new Set()): RowActions {
  const container = builder.driver === CONTAINER_DRIVER && unknown.size === 0;
  const anyRunning = builder.nodes.some((n) => n.status === 'running');
  const anyNotRunning = builder.nodes.length === 0 || builder.nodes.some((n) => n.status !== 'running');
  return {
    use: true,
    boot: container && builder.error === null && anyNotRunning,
    stop: container && !builder.contextBuilder && anyRunning,
    remove: !builder.contextBuilder,
    append: !builder.contextBuilder && builder.error === null && !builder.dynamic,
    leave: !builder.contextBuilder && !builder.dynamic && builder.nodes.length > 1,
  };
}

/** The builder `docker buildx build` would use, if the list names one. */
export function currentBuilder(list: BuilderList | null): Builder | null {
  return list?.builders.find((b) => b.current) ?? null;
}

/** `key=value` pairs of a node's driver options, in key order. */
export function driverOptItems(node: BuilderNode): string[] {
  return Object.keys(node.driverOpts)
    .sort()
    .map((k) => `${k}=${node.driverOpts[k]}`);
}

/** Whether a node has a detail line (flags, driver options, config files) worth showing. */
export function hasNodeDetails(node: BuilderNode): boolean {
  return node.flags.length > 0 || Object.keys(node.driverOpts).length > 0 || node.files.length > 0;
}

/** "just now", "5 min ago", "3 h ago", "2 d ago", or the date for anything older than a month. */
export function relativeTime(iso: string | null, now: Date): string | null {
  if (!iso) return null;
  const then = new Date(iso);
  const ms = now.getTime() - then.getTime();
  if (Number.isNaN(ms)) return null;
  const s = Math.round(ms / 1000);
  if (s < 45) return 'just now';
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 24) return `${h} h ago`;
  const d = Math.round(h / 24);
  if (d <= 30) return `${d} d ago`;
  return then.toISOString().slice(0, 10);
}

export interface CliEntry {
  label: string;
  action: BuilderAction;
}

/** The row's actions as `docker buildx` would take them, for its "Copy as CLI" menu. */
export function cliActions(builder: Builder): CliEntry[] {
  const a = rowActions(builder);
  const name = builder.name;
  const out: CliEntry[] = [{ label: 'Use', action: { action: 'use', name, options: { global: false, default: false } } }];
  if (a.boot) out.push({ label: 'Boot', action: { action: 'boot', name } });
  if (a.stop) out.push({ label: 'Stop', action: { action: 'stop', name } });
  if (a.remove) out.push({ label: 'Remove', action: { action: 'remove', name, options: { keepState: false, keepDaemon: false } } });
  if (a.leave) {
    for (const node of builder.nodes) out.push({ label: `Remove node ${node.name}`, action: { action: 'leave', name, node: node.name } });
  }
  return out;
}
