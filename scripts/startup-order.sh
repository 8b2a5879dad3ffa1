#!/usr/bin/env bash
# Writes src-tauri/startup-order.txt: the functions of a release build of the window that run from its
# launch to its builders listed and on while it sits idle, one symbol a line, in the binary's own
# address order. Release builds link them first (src-tauri/build.rs): the kernel reads a binary's
# code in 64 KiB blocks around each page a function touches, and scattered among the rest, the 2 MB
# the launch runs kept 10 MB of code resident (README, the window's cost).
#
# Symbol names carry each crate's hash, so a new rustc or a changed dependency leaves names the
# binary no longer has: `scripts/bench-window.sh cost` says how many it still finds; run this again
# when that count falls. The launch runs under callgrind (about 50 times slower), so it is given
# STARTUP_SECONDS (90 by default) before it is ended.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
scripts/setup.sh >/dev/null
command -v valgrind >/dev/null || {
  sudo=; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends valgrind >/dev/null
}
scripts/engine.sh start
eval "$(scripts/engine.sh env)"
(cd ui && npm run build >/dev/null)
cargo build --release -p buildlane --quiet
app=$root/target/release/buildlane-window

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/config" "$work/data"
# The window is alone on the engine, with a store of its own, as a first launch is.
DOCKER_CONFIG=$work/config XDG_DATA_HOME=$work/data \
  flock /tmp/buildlane-e2e.lock xvfb-run -a -s "-screen 0 1280x800x24" \
  timeout -s TERM "${STARTUP_SECONDS:-90}" \
  valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" --dump-instr=no \
  --compress-strings=no --compress-pos=no --demangle=no "$app" 2>"$work/valgrind.log" || true
[ -s "$work/callgrind.out" ] || { cat "$work/valgrind.log" >&2; echo "startup-order: no profile written" >&2; exit 1; }

# Every `fn=` under the window's own object (`ob=`) ran; `nm -n` gives the binary's address order.
awk '/^ob=/ { mine = ($0 ~ /\/buildlane-window$/) } /^fn=/ && mine { print substr($0, 4) }' "$work/callgrind.out" |
  sort -u >"$work/ran"
nm -n --defined-only "$app" |
  awk 'NR == FNR { ran[$0] = 1; next } ($3 in ran) && !seen[$3]++ { print $3 }' "$work/ran" - \
    >src-tauri/startup-order.txt
printf 'startup-order: %s functions ran in the window (%s of them in the order file)\n' \
  "$(wc -l <"$work/ran")" "$(wc -l <src-tauri/startup-order.txt)" >&2
