// Turns the LifecycleEvents of a create/boot/stop/remove into what the progress strip shows:
// one line of text, a bar when bytes are known, and the most recent log lines.
import type { LifecycleEvent } from './types';

export type OperationKind = 'create' | 'boot' | 'stop' | 'remove';

export interface OperationProgress {
  kind: OperationKind;
  /** The builder the operation is about. */
  target: string;
  /** The id the core knows it by (for cancel_operation). */
  id: string;
  text: string;
  /** 0–1 while a download's size is known, else null. */
  fraction: number | null;
  /** "12.3 MB / 40.0 MB" beside the bar, or null. */
  bytes: string | null;
  /** A warning that does not stop the operation (e.g. pull failed, local image used). */
  warning: string | null;
  log: string[];
  done: boolean;
}

/** How many log lines an operation keeps; older ones scroll away. */
export const LOG_LINES = 200;

const STARTING: Record<OperationKind, string> = {
  create: 'Creating builder',
  boot: 'Booting',
  stop: 'Stopping',
  remove: 'Removing',
};

export function startProgress(kind: OperationKind, target: string, id: string): OperationProgress {
  return {
    kind,
    target,
    id,
    text: `${STARTING[kind]} ${target}…`,
    fraction: null,
    bytes: null,
    warning: null,
    log: [],
    done: false,
  };
}

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB'];

/** Decimal units, as docker prints image sizes. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '?';
  let v = n;
  let u = 0;
  while (v >= 1000 && u < UNITS.length - 1) {
    v /= 1000;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${UNITS[u]}`;
}

/** The progress after one more event; the input is not modified. */
export function applyEvent(p: OperationProgress, e: LifecycleEvent): OperationProgress {
  const next: OperationProgress = { ...p, fraction: null, bytes: null };
  switch (e.step) {
    case 'pullingImage': {
      next.text = `Pulling ${e.image}` + (e.status ? ` — ${e.status}` : '');
      if (e.current !== null && e.total !== null && e.total > 0) {
        next.fraction = Math.min(1, Math.max(0, e.current / e.total));
        next.bytes = `${formatBytes(e.current)} / ${formatBytes(e.total)}`;
      } else if (e.current !== null) {
        next.bytes = formatBytes(e.current);
      }
      break;
    }
    case 'usingLocalImage':
      next.text = `Using local image ${e.image}`;
      next.warning = `Pull failed, using the local copy: ${e.pullError}`;
      break;
    case 'creatingContainer':
      next.text = `Creating container ${e.container}`;
      break;
    case 'startingContainer':
      next.text = `Starting container ${e.container}`;
      break;
    case 'waitingForBuildkit':
      next.text = `Waiting for BuildKit (attempt ${e.attempt})`;
      break;
    case 'ready':
      next.text = 'Ready';
      next.done = true;
      break;
    case 'stoppingContainer':
      next.text = `Stopping container ${e.container}`;
      break;
    case 'removingContainer':
      next.text = `Removing container ${e.container}`;
      break;
    case 'removingVolume':
      next.text = `Removing volume ${e.volume}`;
      break;
    case 'log':
      // A log line changes neither the step nor its bar.
      next.fraction = p.fraction;
      next.bytes = p.bytes;
      next.log = [...p.log, e.line].slice(-LOG_LINES);
      break;
  }
  return next;
}
