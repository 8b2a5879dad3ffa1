#!/usr/bin/env bash
# Installs what is missing, builds the UI and opens Buildlane. It talks to the engine your docker CLI
# uses; when none answers, it starts the project's own engine (scripts/engine.sh) and opens on that.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

scripts/setup.sh
(cd ui && npm run build)
cargo build -p buildlane -p buildlane-cli

if ! docker info >/dev/null 2>&1; then
  echo "run-app: no engine answers for your docker CLI; starting the project's engine" >&2
  scripts/engine.sh start
  eval "$(scripts/engine.sh env)"
fi

if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo "run-app: no display; opening the window in Xvfb (use \`target/debug/buildlane ls\` for the headless list)" >&2
  exec xvfb-run -a -s "-screen 0 1280x800x24" target/debug/buildlane
fi
exec target/debug/buildlane
