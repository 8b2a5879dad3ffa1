#!/usr/bin/env bash
# Multi-node benchmarks against buildx on the same builders, in one run (hyperfine, medians): a
# 2-platform build with push split across two nodes (one platform pinned on each), the same build
# on a builder of one node, and assembling and pushing the index of two images pushed by digest
# (Buildlane's compose, which a split build's merge goes through, vs `docker buildx imagetools
# create`). Every node is the engine's own BuildKit reached over tcp through a relay started here
# (BuildKit needs the engine's `/grpc` upgrade first, which socat cannot send: a few lines of
# Python do). Prints a table.
source "$(dirname "${BASH_SOURCE[0]}")/bench-setup.sh"

# relay PORT: tcp://127.0.0.1:PORT to the engine's BuildKit, one upgrade per connection.
relay() {
  python3 - "$1" "${DOCKER_HOST#unix://}" <<'PY' &
import asyncio, sys
port, engine = int(sys.argv[1]), sys.argv[2]
UPGRADE = b"POST /grpc HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
async def pipe(reader, writer):
    try:
        while data := await reader.read(1 << 16):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()
async def serve(client_reader, client_writer):
    engine_reader, engine_writer = await asyncio.open_unix_connection(engine)
    engine_writer.write(UPGRADE)
    await engine_writer.drain()
    head = await engine_reader.readuntil(b"\r\n\r\n")
    if b" 101 " not in head.split(b"\r\n", 1)[0]:
        client_writer.close()
        return
    await asyncio.gather(pipe(client_reader, engine_writer), pipe(engine_reader, client_writer), return_exceptions=True)
async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", port)
    async with server:
        await server.serve_forever()
asyncio.run(main())
PY
  relays+=($!)
}
relays=()
trap 'kill "${relays[@]}" 2>/dev/null; rm -rf "$work"' EXIT
port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
amd_port=$(port); relay "$amd_port"
arm_port=$(port); relay "$arm_port"
one_port=$(port); relay "$one_port"
sleep 1

"$docker" buildx create --name bench-split --driver remote --platform linux/amd64 "tcp://127.0.0.1:$amd_port" >/dev/null
"$docker" buildx create --name bench-split --append --node bench-split-arm --platform linux/arm64 "tcp://127.0.0.1:$arm_port" >/dev/null
"$docker" buildx create --name bench-one --driver remote "tcp://127.0.0.1:$one_port" >/dev/null

# One RUN per platform, emulated on arm64, and an image of each platform pushed.
mkdir -p "$work/app"
printf 'FROM %s/busybox:latest\nARG TARGETPLATFORM\nRUN uname -m > /machine && echo $TARGETPLATFORM > /platform\n' "$reg" >"$work/app/Dockerfile"
platforms=linux/amd64,linux/arm64
quiet="--progress quiet"
compare split "$runs" true \
  "$docker buildx build $quiet --builder bench-split --no-cache --platform $platforms --push -t $reg/bench/split:buildx $work/app" \
  "$app build --builder bench-split --no-cache --platform $platforms --push -t $reg/bench/split:buildlane $work/app"
compare one-node "$runs" true \
  "$docker buildx build $quiet --builder bench-one --no-cache --platform $platforms --push -t $reg/bench/split:buildx-one $work/app" \
  "$app build --builder bench-one --no-cache --platform $platforms --push -t $reg/bench/split:buildlane-one $work/app"

# What each node of a split build pushes: its platform as a one-entry index, by digest.
by_digest() {
  "$docker" buildx build $quiet --builder bench-one --platform "$1" --build-arg BUILDKIT_MULTI_PLATFORM=1 \
    --output "type=image,name=$reg/bench/split,push-by-digest=true,push=true" --metadata-file "$work/meta.$2" "$work/app" >/dev/null
  python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["containerimage.digest"])' "$work/meta.$2"
}
amd=$(by_digest linux/amd64 amd)
arm=$(by_digest linux/arm64 arm)
compare merge "$runs" true \
  "$docker buildx imagetools create -t $reg/bench/split:merged-buildx-\$RANDOM\$RANDOM $reg/bench/split@$amd $reg/bench/split@$arm" \
  "$app imagetools create -t $reg/bench/split:merged-buildlane-\$RANDOM\$RANDOM $reg/bench/split@$amd $reg/bench/split@$arm"

"$docker" buildx rm bench-split bench-one >/dev/null 2>&1 || true

table "docker buildx" split "2 platforms + push, split across 2 nodes" one-node "2 platforms + push, on 1 node" \
  merge "index of 2 by-digest images, assembled and pushed"
