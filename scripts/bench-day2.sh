#!/usr/bin/env bash
# Build cache: `buildlane du` and `prune --filter` against `docker buildx du` and `prune` on the same
# engine, with a few hundred cache records made first (a generated Dockerfile of many small RUN steps).
# The engine's cache is shared, so the prune's filter selects none of them: both tools still ask
# BuildKit to judge every record, and neither reads the records first.
source "$(dirname "${BASH_SOURCE[0]}")/bench-setup.sh"

steps=${STEPS:-120}
mkdir -p "$work/ctx"
{
  echo "FROM $reg/busybox:latest"
  echo "ARG BENCH=$(date +%s%N)"
  for i in $(seq 1 "$steps"); do echo "RUN echo \$BENCH $i > /step-$i"; done
} >"$work/ctx/Dockerfile"
echo "bench: making $steps cache records" >&2
"$docker" buildx build --builder default -q "$work/ctx" >/dev/null
records=$("$app" du --builder default | grep -c ' ago$' || true)
echo "bench: the default builder holds $records records" >&2

none="--filter type=exec.cachemount --filter id=^buildlane-bench-none$"
compare du "$runs" true "$docker buildx du --builder default" "$app du --builder default"
compare du-verbose "$runs" true "$docker buildx du --builder default --verbose" "$app du --builder default --verbose"
compare prune "$runs" true "$docker buildx prune --builder default -f $none" "$app prune --builder default -f $none"
table "docker buildx" du "du ($records records)" du-verbose "du --verbose" prune "prune -f, a filter matching none"
