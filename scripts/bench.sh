#!/usr/bin/env bash
# Benchmarks against `docker buildx` on the same engine, in one run, medians of several runs.
# Prints a table of medians and ratios (Buildlane / buildx; below 1.0 means Buildlane is faster).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
runs=${RUNS:-20}

scripts/setup.sh >/dev/null
scripts/engine.sh start
eval "$(scripts/engine.sh env)"
cargo build --release -p buildlane-cli --quiet
app="$root/target/release/buildlane"

# A private docker config with buildx as its plugin and two builders in the store, like a real user's.
config=$(mktemp -d)
trap 'rm -rf "$config"' EXIT
mkdir -p "$config/cli-plugins"
ln -s "$BUILDLANE_BUILDX" "$config/cli-plugins/docker-buildx"
export DOCKER_CONFIG="$config"
docker="$BUILDLANE_ENGINE_BIN/docker"
"$docker" buildx create --name bench-a --driver docker-container >/dev/null
"$docker" buildx create --name bench-b --driver docker-container --platform linux/arm64 >/dev/null

results=$(mktemp)
bench() { # name, buildx command, buildlane command
  hyperfine --style none --warmup 3 --runs "$runs" --export-json "$results.$1" \
    -n buildx "$2" -n buildlane "$3" >/dev/null
}
bench ls "$docker buildx ls" "$app ls"
bench ls-json "$docker buildx ls --format json" "$app ls --format json"

python3 - "$results" ls ls-json <<'PY'
import json, statistics, sys
base = sys.argv[1]
print(f"| benchmark | docker buildx (median) | buildlane (median) | ratio |")
print(f"|---|---|---|---|")
for name in sys.argv[2:]:
    data = {r["command"]: statistics.median(r["times"]) for r in json.load(open(f"{base}.{name}"))["results"]}
    bx, bl = data["buildx"], data["buildlane"]
    print(f"| {name} | {bx*1000:.1f} ms | {bl*1000:.1f} ms | {bl/bx:.2f}x |")
PY
rm -f "$results"*
