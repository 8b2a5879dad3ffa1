// Step and platform result fixtures shared by the build view's unit tests.
import type { PlatformResult, Step } from '../types';

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
    attempt: null,
    ...partial,
  };
}

/** How a platform of a build that kept going ended: succeeded with an image, failed at line 7, or stopped. */
export function platformResult(platform: string, state: PlatformResult['state'], attempt = 1): PlatformResult {
  return {
    platform,
    node: 'default',
    state,
    digest: state === 'succeeded' ? `sha256:${platform.replace(/\W/g, '')}` : null,
    error: state === 'failed' ? 'exit code: 1' : null,
    dockerfileLine: state === 'failed' ? 7 : null,
    attempt,
  };
}
