#!/usr/bin/env bash
# Build benchmarks against `docker buildx build` on the same engine, in one run (hyperfine, medians):
# a 3-platform build with push (warm cache and --no-cache), sending a 20,000-file context of which
# .dockerignore excludes half, writing 10,000 files into a local folder (--output type=local), and
# progress for a RUN step printing 100,000 lines. Prints a table.
source "$(dirname "${BASH_SOURCE[0]}")/bench-setup.sh"

platforms=linux/amd64,linux/arm64,linux/arm/v7

# The first tutorial: one emulated RUN per platform.
mkdir -p "$work/tutorial"
printf 'FROM --platform=$TARGETPLATFORM %s/busybox:latest\nRUN uname -a > /os.txt\n' "$reg" >"$work/tutorial/Dockerfile"

# 20,000 files in 100 folders; .dockerignore excludes the odd folders, so 10,000 are sent.
mkdir -p "$work/context"
for d in $(seq -w 0 99); do
  mkdir -p "$work/context/files/d$d"
  for f in $(seq -w 0 199); do echo "$d-$f" >"$work/context/files/d$d/f$f.txt"; done
done
printf 'files/d*[13579]\n' >"$work/context/.dockerignore"
printf 'FROM %s/busybox:latest\nCOPY files /files\nRUN find /files -type f | wc -l\n' "$reg" >"$work/context/Dockerfile"
# The same 10,000 files as an image's whole filesystem, written out by the builder.
printf 'FROM scratch\nCOPY files /files\n' >"$work/context/Dockerfile.files"

# A RUN step printing 100,000 lines.
mkdir -p "$work/chatty"
printf 'FROM %s/busybox:latest\nRUN seq 1 100000\n' "$reg" >"$work/chatty/Dockerfile"

quiet="--progress quiet"
compare warm "$runs" true \
  "$docker buildx build $quiet --platform $platforms --push -t $reg/bench/tutorial:buildx $work/tutorial" \
  "$app build --platform $platforms --push -t $reg/bench/tutorial:buildlane $work/tutorial"
compare no-cache "$runs" true \
  "$docker buildx build $quiet --no-cache --platform $platforms --push -t $reg/bench/tutorial:buildx $work/tutorial" \
  "$app build --no-cache --platform $platforms --push -t $reg/bench/tutorial:buildlane $work/tutorial"
# Touching every file makes both send all of them again rather than an incremental update.
compare context "$runs" "find $work/context/files -type f -exec touch {} +" \
  "$docker buildx build $quiet --no-cache $work/context" \
  "$app build --no-cache $work/context"
# Cached after the warm-up: what is timed is the builder sending the files and the client writing them.
compare local-output "$runs" "rm -rf $work/out" \
  "$docker buildx build $quiet -f $work/context/Dockerfile.files --output type=local,dest=$work/out $work/context" \
  "$app build -f $work/context/Dockerfile.files --output type=local,dest=$work/out $work/context"
compare chatty-run 5 true \
  "$docker buildx build --progress plain --no-cache $work/chatty" \
  "$app build --progress plain --no-cache $work/chatty"

# Progress updates a UI receives for the chatty RUN: Buildlane coalesces them (JSON lines on stderr).
start=$(date +%s.%N)
"$app" build --progress json --no-cache "$work/chatty" 2>"$work/updates.jsonl" >/dev/null
end=$(date +%s.%N)
updates=$(wc -l <"$work/updates.jsonl")

table "docker buildx build" warm "3 platforms + push, warm cache" no-cache "3 platforms + push, --no-cache" \
  context "context: 20,000 files, 10,000 sent" local-output "--output type=local: 10,000 files written" chatty-run "RUN printing 100,000 lines"
echo
awk -v n="$updates" -v s="$start" -v e="$end" 'BEGIN { printf "Progress updates for the 100,000-line RUN: %d in %.1f s.\n", n, e - s }'
