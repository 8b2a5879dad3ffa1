#!/usr/bin/env bash
# Benchmark: whole-process time of `buildlane inspect` vs `docker buildx imagetools inspect` on the
# same references in the project's registry, in one run (hyperfine, medians), printed as ratios.
# References: a 4-entry index (2 platforms + their provenance attestations) and a 10-platform index.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
runs=${RUNS:-20}

scripts/setup.sh >/dev/null
scripts/engine.sh start
eval "$(scripts/engine.sh env)"
cargo build --release -p buildlane-cli --quiet
app="$root/target/release/buildlane"

config=$(mktemp -d)
ctx=$(mktemp -d)
trap 'rm -rf "$config" "$ctx"' EXIT
mkdir -p "$config/cli-plugins"
ln -s "$BUILDLANE_BUILDX" "$config/cli-plugins/docker-buildx"
export DOCKER_CONFIG="$config"
docker="$BUILDLANE_ENGINE_BIN/docker"

# FROM scratch with one COPY builds for any platform without emulation.
echo "bench" >"$ctx/file.txt"
printf 'FROM scratch\nCOPY file.txt /file.txt\n' >"$ctx/Dockerfile"
four="$BUILDLANE_REGISTRY/bench/four:latest"
ten="$BUILDLANE_REGISTRY/bench/ten:latest"
"$docker" buildx build -q --platform linux/amd64,linux/arm64 --provenance=mode=min --push -t "$four" "$ctx" >/dev/null
# Ten single-platform images, joined into one index with imagetools create.
platforms=(linux/amd64 linux/arm64 linux/arm/v7 linux/arm/v6 linux/386 linux/riscv64 linux/ppc64le linux/s390x linux/mips64le linux/loong64)
sources=()
for p in "${platforms[@]}"; do
  tag="$BUILDLANE_REGISTRY/bench/single:${p//\//-}"
  "$docker" buildx build -q --platform "$p" --provenance=false --output "type=image,name=$tag,push=true,oci-mediatypes=true" "$ctx" >/dev/null
  sources+=("$tag")
done
"$docker" buildx imagetools create -t "$ten" "${sources[@]}" >/dev/null

results=$(mktemp)
bench() { # name, buildx command, buildlane command
  hyperfine --style none --warmup 3 --runs "$runs" --export-json "$results.$1" \
    -n buildx "$2" -n buildlane "$3" >/dev/null
}
bench four-text "$docker buildx imagetools inspect $four" "$app inspect $four"
bench four-json "$docker buildx imagetools inspect --format '{{json .}}' $four" "$app inspect --format json $four"
bench four-raw "$docker buildx imagetools inspect --raw $four" "$app inspect --raw $four"
bench ten-text "$docker buildx imagetools inspect $ten" "$app inspect $ten"
bench ten-json "$docker buildx imagetools inspect --format '{{json .}}' $ten" "$app inspect --format json $ten"
bench ten-raw "$docker buildx imagetools inspect --raw $ten" "$app inspect --raw $ten"

python3 - "$results" four-text four-json four-raw ten-text ten-json ten-raw <<'PY'
import json, statistics, sys
base = sys.argv[1]
print("| benchmark | imagetools inspect (median) | buildlane inspect (median) | ratio |")
print("|---|---|---|---|")
for name in sys.argv[2:]:
    data = {r["command"]: statistics.median(r["times"]) for r in json.load(open(f"{base}.{name}"))["results"]}
    bx, bl = data["buildx"], data["buildlane"]
    print(f"| {name} | {bx*1000:.1f} ms | {bl*1000:.1f} ms | {bl/bx:.2f}x |")
PY
rm -f "$results"*
