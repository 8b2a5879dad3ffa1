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
# How much of src-tauri/startup-order.txt the binary still has (its names carry crate hashes that a
# new rustc or dependency changes), and whether it was linked in that order: then those functions
# lie together, spanning about their own size.
startup_order() {
  nm -S --radix=d --defined-only "$1" | awk '
    NR == FNR { want[$0] = 1; listed++; next }
    NF == 4 && ($4 in want) && !seen[$4]++ {
      addr = $1 + 0; size = $2 + 0; found++; code += size
      if (!lo || addr < lo) lo = addr
      if (addr + size > hi) hi = addr + size
    }
    END { printf "startup order: %d of %d functions found, %.1f MB of code over %.1f MB of the binary\n", found, listed, code / 1e6, (hi - lo) / 1e6 }
  ' src-tauri/startup-order.txt -
}
# tauri-driver listens on fixed ports: one window at a time, across benchmarks and e2e tests.
e2e() { flock /tmp/buildlane-e2e.lock xvfb-run -a -s "-screen 0 1280x800x24" "$@"; }
for part in "${parts[@]}"; do
  case $part in
    cost)
      [ -n "${BUILDLANE_APP:-}" ] || cargo build --release -p buildlane --quiet
      app=${BUILDLANE_APP:-$root/target/release/buildlane-window}
      startup_order "$app"
      BUILDLANE_APP=$app e2e target/debug/window-cost ;;
    frames)
      [ -n "${BUILDLANE_APP:-}" ] || cargo build -p buildlane --quiet
      e2e target/debug/window-frames build ;;
    prune)
      [ -n "${BUILDLANE_APP:-}" ] || cargo build -p buildlane --quiet
      e2e target/debug/window-frames prune ;;
    *) echo "usage: scripts/bench-window.sh [cost] [frames] [prune]" >&2; exit 2 ;;
  esac
done
