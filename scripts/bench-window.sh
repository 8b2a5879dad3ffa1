#!/usr/bin/env bash
# What the real window costs, under Xvfb (tauri-driver), printed as tables. Not a test: numbers, no
# pass/fail. `scripts/bench-window.sh [cost] [frames] [prune]` (cost and frames by default):
#   cost    a release build's launch → builders listed, and the PSS of its process tree idle and after a
#           3-platform build, over RUNS launches (5 by default); STALLED_REMOTE=1 adds a remote builder whose
#           daemon accepts and never answers to the store the window opens on;
#   frames  how smooth the window stays while a build prints 100,000 lines (frame times in the web view);
#   prune   how smooth it stays while the Cache panel prunes a few hundred records of the engine's
#           builder, streamed one by one (PRUNE_STEPS build steps made first, two cache mounts each; 100).
# BUILDLANE_APP=<buildlane-window> measures another build of the window (an older one, say).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(cost frames)
scripts/setup.sh >/dev/null
scripts/engine.sh start
eval "$(scripts/engine.sh env)"
(cd ui && npm run build >/dev/null)
cargo build -p buildlane-e2e --bin window-frames --bin window-cost --quiet
# tauri-driver listens on fixed ports: one window at a time, across benchmarks and e2e tests.
e2e() { flock /tmp/buildlane-e2e.lock xvfb-run -a -s "-screen 0 1280x800x24" "$@"; }
for part in "${parts[@]}"; do
  case $part in
    cost)
      [ -n "${BUILDLANE_APP:-}" ] || cargo build --release -p buildlane --quiet
      BUILDLANE_APP=${BUILDLANE_APP:-$root/target/release/buildlane-window} e2e target/debug/window-cost ;;
    frames)
      [ -n "${BUILDLANE_APP:-}" ] || cargo build -p buildlane --quiet
      e2e target/debug/window-frames build ;;
    prune)
      [ -n "${BUILDLANE_APP:-}" ] || cargo build -p buildlane --quiet
      e2e target/debug/window-frames prune ;;
    *) echo "usage: scripts/bench-window.sh [cost] [frames] [prune]" >&2; exit 2 ;;
  esac
done
