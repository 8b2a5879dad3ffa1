#!/usr/bin/env bash
# Every test Buildlane has, against real services: installs what is missing, starts the project's
# engine (Docker 26 + BuildKit, registry, QEMU), then runs formatting and lint checks, the core's unit
# and integration tests, the UI's checks and unit tests, the TypeScript bindings drift check, and the
# end-to-end tests that drive the real window under Xvfb.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

step() { printf '\n==> %s\n' "$*" >&2; }
results=$(mktemp)
trap 'rm -f "$results"' EXIT
# Every cargo test summary goes to $results too, for the closing count.
cargo_test() { cargo test "$@" 2>&1 | tee -a "$results"; }

step "setup"
scripts/setup.sh
step "test engine"
# Every run starts from the engine a fresh machine has (the registries stay).
scripts/engine.sh reset
scripts/engine.sh start
eval "$(scripts/engine.sh env)"

step "rustfmt"
cargo fmt --all --check

step "UI: type check, unit tests, build"
(cd ui && npm run check && npm test && npm run build)

step "clippy"
cargo clippy --workspace --all-targets -- -D warnings

step "fuzz targets compile (scripts/fuzz.sh runs them; they live outside the workspace)"
cargo fmt --manifest-path fuzz/Cargo.toml --check
cargo check --manifest-path fuzz/Cargo.toml --bins

step "Rust unit and integration tests (core against the real engine)"
cargo_test --workspace --exclude buildlane-e2e

step "TypeScript bindings are what the Rust types generate"
if [ -n "$(git status --porcelain -- ui/src/lib/bindings)" ]; then
  git status --porcelain -- ui/src/lib/bindings >&2
  git diff -- ui/src/lib/bindings >&2
  echo "ui/src/lib/bindings differs from what cargo test generated: commit the regenerated files" >&2
  exit 1
fi

step "end-to-end: the real window under Xvfb"
cargo build -p buildlane
xvfb-run -a -s "-screen 0 1280x800x24" cargo test -p buildlane-e2e --no-fail-fast -- --test-threads=1 2>&1 | tee -a "$results"
echo "screenshots: $root/target/screenshots" >&2
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "rust: %d passed, %d failed\n", passed, failed }' "$results"
