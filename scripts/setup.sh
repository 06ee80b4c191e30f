#!/usr/bin/env bash
# Installs what building and testing AOI needs on a fresh Debian machine with rustup.
# Idempotent: each tool is installed only when missing.
set -euo pipefail

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo is missing; install Rust with rustup first" >&2
  exit 1
fi
if ! cargo nextest --version >/dev/null 2>&1; then
  echo "setup: installing cargo-nextest"
  cargo install cargo-nextest --locked
fi
# wrk drives scripts/bench-api.sh (Debian package).
if ! command -v wrk >/dev/null 2>&1; then
  echo "setup: installing wrk"
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update && apt-get install -y wrk
  else
    sudo apt-get update && sudo apt-get install -y wrk
  fi
fi
echo "setup: ok"
