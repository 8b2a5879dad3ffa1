#!/usr/bin/env bash
# How smooth the real window stays while a build prints 100,000 lines: frame times measured in the
# web view under Xvfb (tauri-driver), printed as a table. Not a test: numbers, no pass/fail.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
scripts/setup.sh >/dev/null
scripts/engine.sh start
eval "$(scripts/engine.sh env)"
(cd ui && npm run build >/dev/null)
cargo build -p buildlane --quiet
cargo build -p buildlane-e2e --bin window-frames --quiet
xvfb-run -a -s "-screen 0 1280x800x24" target/debug/window-frames
