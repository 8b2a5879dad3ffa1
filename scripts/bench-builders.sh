#!/usr/bin/env bash
# Builder listing: `buildlane ls` against `docker buildx ls` on the same engine and store.
source "$(dirname "${BASH_SOURCE[0]}")/bench-setup.sh"

# Two builders in the store besides the engine's own, like a real user's.
"$docker" buildx create --name bench-a --driver docker-container >/dev/null
"$docker" buildx create --name bench-b --driver docker-container --platform linux/arm64 >/dev/null

compare ls "$runs" true "$docker buildx ls" "$app ls"
compare ls-json "$runs" true "$docker buildx ls --format json" "$app ls --format json"
table "docker buildx ls" ls "ls (3 builders)" ls-json "ls --format json"

# Inspecting one builder: the engine's own (BuildKit asked for workers and version) and a
# docker-container builder that has not booted (store and engine only).
compare inspect-engine "$runs" true "$docker buildx inspect default" "$app inspect-builder default"
compare inspect-container "$runs" true "$docker buildx inspect bench-b" "$app inspect-builder bench-b"
table "docker buildx inspect" inspect-engine "inspect (the engine's builder)" inspect-container "inspect (docker-container, not booted)"
