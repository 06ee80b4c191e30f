#!/usr/bin/env bash
# Runs every test of the workspace: lints, doc tests, unit, integration and end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The store, platform and end-to-end tests use this machine's PostgreSQL and Redis for real
# (each run in its own fresh database and key prefix). Say clearly when one is down.
check_port() {
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; then
    echo "test: $1 is not reachable at 127.0.0.1:$2; start it before running the tests" >&2
    exit 1
  fi
}
check_port PostgreSQL 5432
check_port Redis 6379
# Reuse compiled dependencies between runs on one machine; a clean folder works too.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/aoi-target}"
# The example WASM plugin (plugins/examples/http-prober), built and signed by its script; the
# sandbox's tests run the built module.
eval "$(bash scripts/build-example-plugin.sh | grep '^export AOI_EXAMPLE_PLUGIN_WASM=')"
if [ -z "${AOI_EXAMPLE_PLUGIN_WASM:-}" ]; then
  echo "test: scripts/build-example-plugin.sh did not print the module's path" >&2
  exit 1
fi
# The console's browser bundle (WASM); the browser tests (server/tests/console_e2e.rs) serve it
# and save their screenshots in AOI_CONSOLE_SHOTS.
eval "$(bash scripts/build-console.sh | grep '^export AOI_CONSOLE_SITE=')"
if [ -z "${AOI_CONSOLE_SITE:-}" ]; then
  echo "test: scripts/build-console.sh did not print the site folder" >&2
  exit 1
fi
export AOI_CONSOLE_SHOTS="${AOI_CONSOLE_SHOTS:-$CARGO_TARGET_DIR/console-screenshots}"
rm -rf "$AOI_CONSOLE_SHOTS"
# The browser side is linted for its own target.
cargo clippy --quiet -p aoi-console-frontend --lib --target wasm32-unknown-unknown --features hydrate -- -D warnings
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo test --workspace --doc --quiet
# Last, so that its summary closes the log.
echo "test: the console's screenshots go to $AOI_CONSOLE_SHOTS"
cargo nextest run --workspace --no-fail-fast
