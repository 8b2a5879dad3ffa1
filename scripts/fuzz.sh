#!/usr/bin/env bash
# Fuzzes the parsers that read what users and remote peers send (.dockerignore patterns, image
# references, platforms, manifests and indexes, the offline Dockerfile outline, BuildKit's status
# stream and error details) with cargo-fuzz, each target for a bounded time, and prints a table.
#
#   scripts/fuzz.sh [TARGET…]     FUZZ_SECONDS=300 per target by default
#
# The corpus each target grows is kept in fuzz/corpus/TARGET (minimised, committed). A crash stops
# nothing: its input lands in fuzz/artifacts/TARGET, the table counts it, and it becomes a regression
# test beside the code it broke.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root/fuzz"
seconds=${FUZZ_SECONDS:-300}

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --quiet
# libFuzzer's instrumentation needs nightly flags: the nightly toolchain where rustup has one, else
# the installed toolchain with its nightly features unlocked.
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  fuzz() { cargo +nightly fuzz "$@"; }
else
  fuzz() { RUSTC_BOOTSTRAP=1 cargo fuzz "$@"; }
fi

targets=("$@")
[ "${#targets[@]}" -gt 0 ] || mapfile -t targets < <(fuzz list)

# Safe Rust: AddressSanitizer would find nothing the borrow checker has not; debug assertions
# (overflow checks) stay on, as cargo-fuzz builds with them.
fuzz build --sanitizer none

rows=()
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target" "artifacts/$target"
  before=$(find "artifacts/$target" -type f | wc -l)
  log=$(mktemp)
  fuzz run --sanitizer none "$target" "corpus/$target" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="artifacts/$target/" >"$log" 2>&1 || true
  runs=$(awk '/stat::number_of_executed_units/ { print $NF }' "$log" | tail -1)
  fuzz cmin --sanitizer none "$target" "corpus/$target" >/dev/null 2>&1 || true
  corpus=$(find "corpus/$target" -type f | wc -l)
  crashes=$(($(find "artifacts/$target" -type f | wc -l) - before))
  [ "$crashes" -eq 0 ] || grep -m1 -A3 'panicked\|ERROR: libFuzzer' "$log" >&2 || true
  rows+=("| $target | ${seconds} s | ${runs:-?} | $corpus | $crashes |")
  rm -f "$log"
done

echo "| target | time | inputs run | corpus | new crashes |"
echo "|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
