#!/usr/bin/env bash
# Benchmark: whole-process time of `buildlane inspect` vs `docker buildx imagetools inspect` on the
# same references in the project's registry, in one run (hyperfine, medians), printed as ratios.
# References: a 4-entry index (2 platforms + their provenance attestations) and a 10-platform index.
# Then `buildlane imagetools create` vs `docker buildx imagetools create` composing two single-platform
# images into a 2-platform index: the dry run, and a push into a new repository each run (so every
# manifest and blob is copied across repositories, by mount).
source "$(dirname "${BASH_SOURCE[0]}")/bench-setup.sh"
runs=${RUNS:-20}
ctx="$work/context"
mkdir -p "$ctx"

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

compare four-text "$runs" true "$docker buildx imagetools inspect $four" "$app inspect $four"
compare four-json "$runs" true "$docker buildx imagetools inspect --format '{{json .}}' $four" "$app inspect --format json $four"
compare four-raw "$runs" true "$docker buildx imagetools inspect --raw $four" "$app inspect --raw $four"
compare ten-text "$runs" true "$docker buildx imagetools inspect $ten" "$app inspect $ten"
compare ten-json "$runs" true "$docker buildx imagetools inspect --format '{{json .}}' $ten" "$app inspect --format json $ten"
compare ten-raw "$runs" true "$docker buildx imagetools inspect --raw $ten" "$app inspect --raw $ten"

amd="$BUILDLANE_REGISTRY/bench/single:linux-amd64"
arm="$BUILDLANE_REGISTRY/bench/single:linux-arm64"
compare create-dry "$runs" true "$docker buildx imagetools create --dry-run $amd $arm" "$app imagetools create --dry-run $amd $arm"
compare create-push "$runs" true \
  "$docker buildx imagetools create -t $BUILDLANE_REGISTRY/bench/compose-buildx-\$RANDOM\$RANDOM:v1 $amd $arm" \
  "$app imagetools create -t $BUILDLANE_REGISTRY/bench/compose-buildlane-\$RANDOM\$RANDOM:v1 $amd $arm"

table "docker buildx imagetools inspect" four-text "4-entry index" four-json "4-entry index, JSON" \
  four-raw "4-entry index, raw" ten-text "10-platform index" ten-json "10-platform index, JSON" \
  ten-raw "10-platform index, raw"
table "docker buildx imagetools create" create-dry "2-platform index, dry run" \
  create-push "2-platform index, pushed to a new repository"
