// Step fixtures shared by the build view's unit tests.
import type { Step } from '../types';

export function step(partial: Partial<Step> & { id: string }): Step {
  return {
    lane: 'shared',
    node: null,
    name: partial.id,
    stage: null,
    position: null,
    state: 'done',
    startedMs: 0,
    completedMs: 100,
    error: null,
    bytesCurrent: 0,
    bytesTotal: 0,
    logLines: 0,
    dockerfileLine: null,
    ...partial,
  };
}
