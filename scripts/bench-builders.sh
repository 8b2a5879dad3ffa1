#!/usr/bin/env bash
# Builder listing: `buildlane ls` against `docker buildx ls` on the same engine and store.
source "$(dirname "${BASH_SOURCE[0]}")/bench-setup.sh"

# Two builders in the store besides the engine's own, like a real user's.
"$docker" buildx create --name bench-a --driver docker-container >/dev/null
"$docker" buildx create --name bench-b --driver docker-container --platform linux/arm64 >/dev/null

compare ls "$runs" true "$docker buildx ls" "$app ls"
compare ls-json "$runs" true "$docker buildx ls --format json" "$app ls --format json"
table "docker buildx ls" ls "ls (3 builders)" ls-json "ls --format json"
