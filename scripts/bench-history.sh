#!/usr/bin/env bash
# Benchmark: BuildKit's build history at scale. A private engine (the project's dockerd with its own
# socket and data-root, no bridge, its BuildKit keeping up to 1,000 records: `builder.history` in
# daemon.json, buildkitd.toml's `[history] maxEntries`) gets RECORDS records (500 by default) from
# `docker buildx build` of a one-line Dockerfile with `--build-arg N=$i`, four at a time, and one build
# whose RUN prints 100,000 lines. Then, printed as tables (RUNS repetitions of each command, LAUNCHES
# launches of the window, 3 by default):
#   - the release window (Xvfb, tauri-driver): the History tab's first row and every record listed,
#     frame times while scrolling to the last, the 100,000-line record replayed into lanes, and PSS;
#   - `buildlane history ls` of every record: buildx 0.13.1 has no `history` command, so on its own;
#   - `buildlane history logs` of the 100,000-line record against `docker buildx build --progress plain
#     --no-cache` printing the same 100,000 lines live (buildx 0.13.1 has no `history logs`);
#   - `buildlane history export` of the 100,000-line record, and of the newest 50 records (buildx
#     0.13.1 has no `history export`), on their own.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bench-setup.sh"
records=${RECORDS:-500}

(cd ui && npm run build >/dev/null)
cargo build --release -p buildlane --quiet
cargo build -p buildlane-e2e --bin history-window --quiet

engine="$work/engine"
mkdir -p "$engine"
cat >"$engine/daemon.json" <<EOF
{"data-root": "$engine/data", "exec-root": "$engine/exec", "pidfile": "$engine/docker.pid",
 "hosts": ["unix://$engine/docker.sock"], "bridge": "none", "iptables": false, "ip6tables": false,
 "features": {"containerd-snapshotter": true},
 "builder": {"history": {"maxEntries": 1000, "maxAge": "168h"}}}
EOF
PATH="$BUILDLANE_ENGINE_BIN:$PATH" "$BUILDLANE_ENGINE_BIN/dockerd" --config-file "$engine/daemon.json" \
  >"$engine/dockerd.log" 2>&1 &
dockerd_pid=$!
cleanup() {
  # SIGTERM, so that dockerd stops the containerd it started too.
  kill -TERM "$dockerd_pid" 2>/dev/null && wait "$dockerd_pid" 2>/dev/null
  rm -rf "$work" 2>/dev/null || true
}
trap cleanup EXIT
export DOCKER_HOST="unix://$engine/docker.sock"
for _ in $(seq 150); do
  "$docker" version >/dev/null 2>&1 && break
  sleep 0.2
done
"$docker" version >/dev/null || { cat "$engine/dockerd.log" >&2; exit 1; }

echo "bench: $records history records" >&2
mkdir -p "$work/tiny" "$work/chatty"
printf 'FROM scratch\nARG N\nLABEL n=$N\n' >"$work/tiny/Dockerfile"
seq 1 "$records" | xargs -P 4 -I{} "$docker" buildx build --quiet --build-arg N={} "$work/tiny" >/dev/null
# The bridge-less engine runs a RUN step without a network. The lines come 2,000 every tenth of a
# second: BuildKit clips a step's output past 200 KiB/s.
printf 'FROM %s/busybox:latest\nRUN --network=none echo %s && for i in $(seq 1 50); do seq 1 2000; sleep 0.1; done\n' \
  "$reg" "$(date +%s%N)" >"$work/chatty/Dockerfile"
"$docker" buildx build --progress plain "$work/chatty" 2>/dev/null
log_ref=$("$app" history ls --format '{{.Ref}}' | sed -n 1p)
listed=$("$app" history ls --format '{{.Ref}}' | wc -l)
[[ $listed -gt $records ]] || { echo "bench: the engine kept $listed records, not $((records + 1))" >&2; exit 1; }

echo "bench: the window" >&2
RUNS=${LAUNCHES:-3} BUILDLANE_APP="$root/target/release/buildlane-window" BUILDLANE_BENCH_ENGINE=$DOCKER_HOST \
  BUILDLANE_BENCH_RECORDS=$listed BUILDLANE_BENCH_LOG_REF=$log_ref \
  flock /tmp/buildlane-e2e.lock xvfb-run -a -s "-screen 0 1280x800x24" target/debug/history-window
echo

# alone NAME RUNS COMMAND: a Buildlane command with nothing in buildx to compare it with.
alone() {
  echo "bench: $1" >&2
  hyperfine --shell bash --style none --warmup 1 --runs "$2" --export-json "$work/alone.$1" -n buildlane "$3" >/dev/null
}
alone ls "$runs" "'$app' history ls"
alone ls-json "$runs" "'$app' history ls --format json"
alone export-log "$runs" "'$app' history export $log_ref -o '$work/log.dockerbuild'"
alone export-50 "$runs" "'$app' history export $(seq -f '^%g' 0 49 | tr '\n' ' ') -o '$work/fifty.dockerbuild'"
compare logs "$runs" "" \
  "'$docker' buildx build --progress plain --no-cache '$work/chatty'" \
  "'$app' history logs $log_ref"
python3 - "$work" "$listed" <<'PY'
import json, statistics, sys
work, listed = sys.argv[1], sys.argv[2]
def median(name):
    result = json.load(open(f"{work}/{name}"))["results"]
    return {r["command"]: statistics.median(r["times"]) for r in result}
def fmt(seconds):
    return f"{seconds:.2f} s" if seconds >= 1 else f"{seconds * 1000:.1f} ms"
print("| benchmark | docker buildx (median) | buildlane (median) | ratio |")
print("|---|---|---|---|")
for name, label in [
    ("ls", f"history ls, {listed} records"),
    ("ls-json", f"history ls --format json, {listed} records"),
    ("export-log", "history export of the 100,000-line record"),
    ("export-50", "history export of the newest 50 records"),
]:
    print(f"| {label} | no such command in buildx 0.13.1 | {fmt(median('alone.' + name)['buildlane'])} | — |")
logs = median("result.logs")
print(f"| 100,000-line log: `history logs` (buildx: the build printing it live, --no-cache) | {fmt(logs['buildx'])} | {fmt(logs['buildlane'])} | {logs['buildlane'] / logs['buildx']:.2f}x |")
PY
