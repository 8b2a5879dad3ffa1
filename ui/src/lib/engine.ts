// What the shell shows about the engine behind the selected context, and when a status change
// means the builder list is worth fetching again.
import type { EngineStatus } from './types';

/** The indicator in the top bar. */
export function engineLabel(status: EngineStatus | null): string {
  if (status === null) return 'Engine: checking…';
  if (status.state === 'reachable') {
    const { version, os, arch } = status.info;
    return `Engine ${version} · ${os}/${arch}`;
  }
  return 'Engine unreachable';
}

export function engineTitle(status: EngineStatus | null): string {
  if (status === null) return 'Waiting for the first engine status';
  if (status.state === 'reachable') return `${status.host} — API ${status.info.apiVersion}`;
  return status.message;
}

export interface EngineBanner {
  headline: string;
  detail: string;
  note: string;
}

/** The empty state for an unreachable engine, or null while it is reachable (or not known yet). */
export function engineBanner(status: EngineStatus | null): EngineBanner | null {
  if (status === null || status.state === 'reachable') return null;
  return {
    headline: `No engine at ${status.host} — start Docker, or pick a context`,
    detail: status.message,
    // The watch reports changes only, so retryInMs is the first delay, not a live countdown.
    note: `Buildlane keeps checking (first retry after ${formatDelay(status.retryInMs)}) and re-lists builders when the engine is back.`,
  };
}

export function formatDelay(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** Re-list builders when the engine comes back after being unreachable. */
export function cameBack(previous: EngineStatus | null, next: EngineStatus): boolean {
  return previous !== null && previous.state === 'unreachable' && next.state === 'reachable';
}
