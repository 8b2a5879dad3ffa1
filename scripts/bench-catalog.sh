#!/usr/bin/env bash
# Benchmark: a registry of 2,000 repositories in the real window (Xvfb, tauri-driver): time from
# clicking the registry to its first repository row, and frame times while scrolling to the last one.
# The registry is a throw-away one (Debian's docker-registry on 127.0.0.1:5057, storage in a temp
# folder) filled over the registry API: one image pushed once, mounted into every other repository.
# For scale, the table has a bare `curl` of the catalog's first page from the same registry.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
count=${REPOSITORIES:-2000}
addr=127.0.0.1:5057
base="http://$addr/v2"

scripts/setup.sh >/dev/null
scripts/engine.sh start
eval "$(scripts/engine.sh env)"
(cd ui && npm run build >/dev/null)
cargo build -p buildlane --quiet
cargo build -p buildlane-e2e --bin registry-listing --quiet

work=$(mktemp -d)
registry_pid=
cleanup() {
  [[ -n $registry_pid ]] && kill "$registry_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

cat >"$work/registry.yml" <<EOF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $work/storage
http:
  addr: $addr
EOF
/usr/bin/docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 50); do
  curl -fsS -o /dev/null "$base/" 2>/dev/null && break
  sleep 0.1
done

# push_blob REPO FILE: a monolithic upload; prints the digest.
push_blob() {
  local digest location
  digest="sha256:$(sha256sum "$2" | cut -d' ' -f1)"
  location=$(curl -fsS -X POST -D - -o /dev/null "$base/$1/blobs/uploads/" | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
  [[ $location == http* ]] || location="http://$addr$location"
  curl -fsS -X PUT -o /dev/null --data-binary "@$2" -H 'Content-Type: application/octet-stream' \
    "$location$([[ $location == *\?* ]] && echo '&' || echo '?')digest=$digest"
  echo "$digest"
}

echo "bench: filling $addr with $count repositories" >&2
printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}' >"$work/config.json"
tar -czf "$work/layer.tar.gz" -C "$work" config.json
config=$(push_blob bench/r0000 "$work/config.json")
layer=$(push_blob bench/r0000 "$work/layer.tar.gz")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%d}]}' \
  "$config" "$(stat -c %s "$work/config.json")" "$layer" "$(stat -c %s "$work/layer.tar.gz")" >"$work/manifest.json"
# One curl for every request, so the connection is reused: two blob mounts and a manifest per repository.
for i in $(seq 0 $((count - 1))); do
  repo=$(printf 'bench/r%04d' "$i")
  for blob in "$config" "$layer"; do
    printf 'url = "%s/%s/blobs/uploads/?mount=%s&from=bench/r0000"\nrequest = "POST"\noutput = "/dev/null"\nnext\n' \
      "$base" "$repo" "$blob"
  done
  printf 'url = "%s/%s/manifests/latest"\nrequest = "PUT"\nheader = "Content-Type: application/vnd.oci.image.manifest.v1+json"\ndata-binary = "@%s"\noutput = "/dev/null"\nnext\n' \
    "$base" "$repo" "$work/manifest.json"
done | sed '$ d' >"$work/fill.curl"
curl -fsS --config "$work/fill.curl"
last=$(printf 'bench/r%04d' $((count - 1)))
curl -fsS -o /dev/null "$base/$last/tags/list" || { echo "bench: $last was not pushed" >&2; exit 1; }

hyperfine --style none --warmup 2 --runs 20 --export-json "$work/curl.json" \
  "curl -fsS -o /dev/null '$base/_catalog?n=100'" >/dev/null
curl_ms=$(python3 - "$work/curl.json" <<'PY'
import json, sys
print(f"{json.load(open(sys.argv[1]))['results'][0]['median'] * 1000:.1f}")
PY
)
BUILDLANE_BENCH_REGISTRY=$addr BUILDLANE_BENCH_REPOSITORIES=$count BUILDLANE_BENCH_CURL_MS=$curl_ms \
  xvfb-run -a -s "-screen 0 1280x800x24" target/debug/registry-listing
