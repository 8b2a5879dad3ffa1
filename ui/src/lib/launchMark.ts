// scripts/bench-window.sh times a launch up to this mark: the first frame that shows the builders.
export const BUILDERS_LISTED = 'builders-listed';

/** Marks the next frame once per page; later lists (refreshes, context switches) leave it as it is. */
export function markBuildersListed(perf: Performance = performance, nextFrame = requestAnimationFrame): void {
  if (perf.getEntriesByName(BUILDERS_LISTED).length > 0) return;
  nextFrame(() => {
    if (perf.getEntriesByName(BUILDERS_LISTED).length === 0) perf.mark(BUILDERS_LISTED);
  });
}
