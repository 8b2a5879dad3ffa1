// The failure-first summary: which platform and step failed, the Dockerfile source around the
// failing line (which the core worked out) with that line marked, the last output lines, how
// every other platform ended, and which platforms can be retried alone.
import type { BuildOutcome } from '../types';

export interface SourceLine {
  n: number;
  text: string;
  marked: boolean;
}

export interface PlatformEnd {
  platform: string;
  /** `notStarted`: no step of it ever ran (the build failed first, e.g. on a parse error). */
  state: 'succeeded' | 'failed' | 'unfinished' | 'notStarted';
}

export interface FailureView {
  message: string;
  /** `linux/arm64`, `shared`, or null when the core could not tell. */
  platform: string | null;
  /** The builder node that failed, in a build split across nodes. */
  node: string | null;
  stepLabel: string | null;
  stepId: string | null;
  line: number | null;
  /** The last line of the failing span (an instruction continued over lines), `line` when one. */
  endLine: number | null;
  /** The file BuildKit named, e.g. `Dockerfile`; null when the core could not tell. */
  file: string | null;
  exitCode: number | null;
  /** The source around the line (or all of a short file), empty without source. */
  source: SourceLine[];
  lastLines: string[];
  platforms: PlatformEnd[];
  /**
   * Platforms that failed or were stopped in a build that kept going (or was split across nodes):
   * each can be built again alone, the others' results kept.
   */
  retryable: string[];
}

export const PLATFORM_END_TEXT: Record<PlatformEnd['state'], string> = {
  succeeded: 'succeeded',
  failed: 'failed',
  unfinished: 'did not finish',
  notStarted: 'never started',
};

/** Lines shown above and below the marked one. */
export const CONTEXT_LINES = 6;

/** Source lines `line ± around` (the whole file when it is short), lines `line..endLine` marked. */
export function sourceWindow(source: string, line: number | null, around = CONTEXT_LINES, endLine: number | null = null): SourceLine[] {
  if (source === '') return [];
  const all = source.replace(/\r\n/g, '\n').replace(/\n$/, '').split('\n');
  const last = line === null ? null : Math.max(line, endLine ?? line);
  let from = 0;
  let to = all.length;
  if (line !== null && all.length > around * 2 + 1) {
    from = Math.max(0, Math.min(line - 1 - around, all.length - (around * 2 + 1)));
    to = Math.min(all.length, from + around * 2 + 1);
  }
  return all.slice(from, to).map((text, i) => {
    const n = from + i + 1;
    return { n, text, marked: line !== null && last !== null && n >= line && n <= last };
  });
}

export function failureView(outcome: BuildOutcome, source: string | null, requested: readonly string[]): FailureView | null {
  const f = outcome.failure;
  if (!f) return null;
  const platforms: PlatformEnd[] = [];
  const results = outcome.platformResults;
  for (const p of requested.length ? requested : outcome.platforms) {
    let state: PlatformEnd['state'] = 'unfinished';
    // How each platform's own solve ended, when it had one, is the core's word.
    const result = results.find((r) => r.platform === p);
    if (result) state = result.state === 'cancelled' ? 'unfinished' : result.state;
    else if (f.succeededPlatforms.includes(p)) state = 'succeeded';
    else if (f.platform === p) state = 'failed';
    else if (!outcome.steps.some((s) => s.lane === p)) state = 'notStarted';
    platforms.push({ platform: p, state });
  }
  const step = f.step;
  // The Dockerfile BuildKit read when it failed beats the file read again now.
  const text = f.dockerfileSource ?? source;
  const line = f.dockerfileLine;
  const endLine = line === null ? null : (f.dockerfileEndLine ?? line);
  return {
    message: f.message,
    platform: f.platform,
    node: f.node,
    stepLabel: step ? [step.stage, step.position, step.name].filter((x) => x).join(' ') : null,
    stepId: step?.id ?? null,
    line,
    endLine,
    file: f.dockerfileName,
    exitCode: f.exitCode,
    source: text ? sourceWindow(text, line, CONTEXT_LINES, endLine) : [],
    lastLines: f.lastLines,
    platforms,
    retryable: results.filter((r) => r.state !== 'succeeded').map((r) => r.platform),
  };
}
