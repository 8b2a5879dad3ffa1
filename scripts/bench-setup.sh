# Sourced by the bench-*.sh scripts: the project's engine, a release build of the `buildlane` CLI,
# a private docker config with buildx 0.13.1 as its plugin, and `compare`/`table` to time Buildlane
# against buildx with hyperfine (medians) and print the ratios (below 1.0: Buildlane is faster).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
runs=${RUNS:-10}

scripts/setup.sh >/dev/null
scripts/engine.sh start
eval "$(scripts/engine.sh env)"
cargo build --release -p buildlane-cli --quiet
app="$root/target/release/buildlane"
docker="$BUILDLANE_ENGINE_BIN/docker"
reg="$BUILDLANE_REGISTRY"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/config/cli-plugins"
ln -s "$BUILDLANE_BUILDX" "$work/config/cli-plugins/docker-buildx"
export DOCKER_CONFIG="$work/config"

# compare NAME RUNS PREPARE BUILDX_COMMAND BUILDLANE_COMMAND
# A run that fails is kept and counted in the table rather than ending the benchmark: the test
# registry (distribution 2.8) now and then answers 500 to buildx's double push of one image.
compare() {
  echo "bench: $1" >&2
  hyperfine --shell bash --ignore-failure --style none --warmup 1 --runs "$2" --prepare "$3" \
    --export-json "$work/result.$1" -n buildx "$4" -n buildlane "$5" >/dev/null
}

# table "BUILDX COLUMN" NAME "LABEL" [NAME "LABEL"]…: one row per comparison, medians and ratio.
table() {
  python3 - "$work" "$@" <<'PY'
import json, statistics, sys
work, column, pairs = sys.argv[1], sys.argv[2], sys.argv[3:]
def fmt(seconds):
    return f"{seconds:.2f} s" if seconds >= 1 else f"{seconds * 1000:.1f} ms"
print(f"| benchmark | {column} (median) | buildlane (median) | ratio |")
print("|---|---|---|---|")
def cell(result):
    # Medians over the runs that succeeded; failed runs are said, not hidden.
    times = [t for t, code in zip(result["times"], result["exit_codes"]) if code == 0] or result["times"]
    failed = sum(1 for code in result["exit_codes"] if code != 0)
    return statistics.median(times), (f" ({failed} of {len(result['times'])} runs failed)" if failed else "")
for name, label in zip(pairs[::2], pairs[1::2]):
    results = {r["command"]: cell(r) for r in json.load(open(f"{work}/result.{name}"))["results"]}
    (bx, bx_note), (bl, bl_note) = results["buildx"], results["buildlane"]
    print(f"| {label} | {fmt(bx)}{bx_note} | {fmt(bl)}{bl_note} | {bl / bx:.2f}x |")
PY
}
