#!/usr/bin/env bash
# Runs every test of the workspace: unit, integration and the twin's and runtime's tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Reuse compiled dependencies between runs on one machine; a clean folder works too.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/aoi-target}"
cargo build --workspace --all-targets
cargo nextest run --workspace --no-fail-fast
cargo test --workspace --doc
