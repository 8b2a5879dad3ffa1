import { beforeEach, describe, expect, it } from 'vitest';
import { BUILDERS_LISTED, markBuildersListed } from './launchMark';

/** Frames that run only when the test says the next one is drawn. */
function frames() {
  const waiting: FrameRequestCallback[] = [];
  return {
    request: (cb: FrameRequestCallback) => waiting.push(cb),
    draw: () => waiting.splice(0).forEach((cb) => cb(0)),
  };
}

describe('the launch mark the window benchmark reads', () => {
  const perf = performance;
  beforeEach(() => perf.clearMarks(BUILDERS_LISTED));

  it('marks the frame after the first list, not the moment the list arrives', () => {
    const frame = frames();
    markBuildersListed(perf, frame.request);
    expect(perf.getEntriesByName(BUILDERS_LISTED)).toHaveLength(0);
    frame.draw();
    expect(perf.getEntriesByName(BUILDERS_LISTED)).toHaveLength(1);
  });

  it('keeps the first mark when the list comes again', () => {
    const frame = frames();
    markBuildersListed(perf, frame.request);
    markBuildersListed(perf, frame.request);
    frame.draw();
    const first = perf.getEntriesByName(BUILDERS_LISTED)[0].startTime;
    markBuildersListed(perf, frame.request);
    frame.draw();
    expect(perf.getEntriesByName(BUILDERS_LISTED).map((m) => m.startTime)).toEqual([first]);
  });
});
