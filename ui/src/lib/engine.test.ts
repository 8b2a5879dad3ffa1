import { describe, expect, it } from 'vitest';
import { cameBack, engineBanner, engineLabel, engineTitle, formatDelay } from './engine';
import type { EngineStatus } from './types';

const up: EngineStatus = {
  state: 'reachable',
  host: 'unix:///var/run/docker.sock',
  info: { version: '28.1.1', apiVersion: '1.49', os: 'linux', arch: 'amd64' },
};
const down: EngineStatus = {
  state: 'unreachable',
  host: 'unix:///var/run/docker.sock',
  message: 'engine at unix:///var/run/docker.sock unreachable: connection refused',
  retryInMs: 4000,
};

describe('engine indicator', () => {
  it('names the engine when reachable', () => {
    expect(engineLabel(up)).toBe('Engine 28.1.1 · linux/amd64');
    expect(engineTitle(up)).toBe('unix:///var/run/docker.sock — API 1.49');
  });
  it('says so when unreachable or unknown', () => {
    expect(engineLabel(down)).toBe('Engine unreachable');
    expect(engineTitle(down)).toBe(down.message);
    expect(engineLabel(null)).toBe('Engine: checking…');
  });
});

describe('engine banner', () => {
  it('teaches what to do when there is no engine', () => {
    expect(engineBanner(down)).toEqual({
      headline: 'No engine at unix:///var/run/docker.sock — start Docker, or pick a context',
      detail: 'engine at unix:///var/run/docker.sock unreachable: connection refused',
      note: 'Buildlane keeps checking (first retry after 4 s) and re-lists builders when the engine is back.',
    });
  });
  it('is absent while the engine is up or not yet known', () => {
    expect(engineBanner(up)).toBeNull();
    expect(engineBanner(null)).toBeNull();
  });
  it('formats delays', () => {
    expect(formatDelay(250)).toBe('250 ms');
    expect(formatDelay(30_000)).toBe('30 s');
    expect(formatDelay(90_000)).toBe('1 min 30 s');
  });
});

describe('re-listing', () => {
  it('happens only when the engine comes back', () => {
    expect(cameBack(down, up)).toBe(true);
    expect(cameBack(null, up)).toBe(false);
    expect(cameBack(up, up)).toBe(false);
    expect(cameBack(up, down)).toBe(false);
    expect(cameBack(down, down)).toBe(false);
  });
});
