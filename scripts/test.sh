#!/usr/bin/env bash
# Runs every test of the workspace: lints, doc tests, unit, integration and end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Reuse compiled dependencies between runs on one machine; a clean folder works too.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/aoi-target}"
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo test --workspace --doc --quiet
# Last, so that its summary closes the log.
cargo nextest run --workspace --no-fail-fast
