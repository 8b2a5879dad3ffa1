import { describe, expect, it } from 'vitest';
import { LOG_LINES, applyEvent, formatBytes, startProgress } from './progress';
import type { LifecycleEvent } from './types';

const start = () => startProgress('boot', 'builder1', 'op-1');

function run(events: LifecycleEvent[]) {
  return events.reduce(applyEvent, start());
}

describe('operation progress', () => {
  it('starts with what is being done to which builder', () => {
    expect(start()).toMatchObject({ kind: 'boot', target: 'builder1', id: 'op-1', text: 'Booting builder1…', fraction: null, done: false });
    expect(startProgress('create', 'x', 'i').text).toBe('Creating builder x…');
    expect(startProgress('remove', 'x', 'i').text).toBe('Removing x…');
  });

  it('shows a pull with known size as a bar', () => {
    const p = run([{ step: 'pullingImage', image: 'moby/buildkit:buildx-stable-1', status: 'Downloading', current: 12_500_000, total: 50_000_000 }]);
    expect(p.text).toBe('Pulling moby/buildkit:buildx-stable-1 — Downloading');
    expect(p.fraction).toBe(0.25);
    expect(p.bytes).toBe('12.5 MB / 50.0 MB');
  });

  it('shows a pull of unknown size without a bar', () => {
    const p = run([{ step: 'pullingImage', image: 'img', status: '', current: null, total: null }]);
    expect(p.text).toBe('Pulling img');
    expect(p.fraction).toBeNull();
    expect(p.bytes).toBeNull();
    expect(run([{ step: 'pullingImage', image: 'img', status: 'x', current: 2048, total: null }]).bytes).toBe('2.0 kB');
    expect(run([{ step: 'pullingImage', image: 'img', status: 'x', current: 10, total: 0 }]).fraction).toBeNull();
  });

  it('clamps the bar', () => {
    expect(run([{ step: 'pullingImage', image: 'i', status: '', current: 12, total: 10 }]).fraction).toBe(1);
  });

  it('walks through the boot steps and drops the bar after the pull', () => {
    const pull: LifecycleEvent = { step: 'pullingImage', image: 'i', status: '', current: 1, total: 2 };
    expect(run([pull, { step: 'creatingContainer', container: 'buildx_buildkit_b0' }])).toMatchObject({
      text: 'Creating container buildx_buildkit_b0',
      fraction: null,
    });
    expect(run([{ step: 'startingContainer', container: 'c' }]).text).toBe('Starting container c');
    expect(run([{ step: 'waitingForBuildkit', attempt: 3 }]).text).toBe('Waiting for BuildKit (attempt 3)');
    expect(run([{ step: 'ready' }])).toMatchObject({ text: 'Ready', done: true });
  });

  it('words stop and remove steps', () => {
    expect(run([{ step: 'stoppingContainer', container: 'c' }]).text).toBe('Stopping container c');
    expect(run([{ step: 'removingContainer', container: 'c' }]).text).toBe('Removing container c');
    expect(run([{ step: 'removingVolume', volume: 'v' }]).text).toBe('Removing volume v');
  });

  it('warns when the local image stands in for a failed pull', () => {
    const p = run([{ step: 'usingLocalImage', image: 'moby/buildkit', pullError: 'no route to host' }]);
    expect(p.text).toBe('Using local image moby/buildkit');
    expect(p.warning).toBe('Pull failed, using the local copy: no route to host');
  });

  it('keeps log lines without disturbing the current step', () => {
    const pull: LifecycleEvent = { step: 'pullingImage', image: 'i', status: 's', current: 1, total: 4 };
    const p = run([pull, { step: 'log', line: 'a' }, { step: 'log', line: 'b' }]);
    expect(p.log).toEqual(['a', 'b']);
    expect(p.text).toBe('Pulling i — s');
    expect(p.fraction).toBe(0.25);
  });

  it('keeps only the most recent log lines', () => {
    const events: LifecycleEvent[] = Array.from({ length: LOG_LINES + 5 }, (_, i) => ({ step: 'log', line: `l${i}` }));
    const p = run(events);
    expect(p.log.length).toBe(LOG_LINES);
    expect(p.log[0]).toBe('l5');
  });

  it('does not modify its input', () => {
    const p = start();
    applyEvent(p, { step: 'log', line: 'x' });
    expect(p.log).toEqual([]);
  });
});

describe('formatBytes', () => {
  it('uses decimal units', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1000)).toBe('1.0 kB');
    expect(formatBytes(1_234_567_890)).toBe('1.2 GB');
    expect(formatBytes(-1)).toBe('?');
  });
});
