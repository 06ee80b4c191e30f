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
apt_install() {
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update && apt-get install -y "$@"
  else
    sudo apt-get update && sudo apt-get install -y "$@"
  fi
}
# wrk drives scripts/bench-api.sh (Debian package).
if ! command -v wrk >/dev/null 2>&1; then
  echo "setup: installing wrk"
  apt_install wrk
fi
# jq and curl drive scripts/bench-inference.sh.
for tool in jq curl; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "setup: installing $tool"
    apt_install "$tool"
  fi
done
# python3 runs the training recipe's dataset reader in the tests (standard library only; the
# recipe itself needs torch, transformers and peft, which only GPU machines install).
if ! command -v python3 >/dev/null 2>&1; then
  echo "setup: installing python3"
  apt_install python3
fi
# The prometheus and alertmanager plugins are tested against the real servers (Debian packages).
for pair in prometheus:prometheus prometheus-alertmanager:prometheus-alertmanager; do
  tool="${pair%%:*}"
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "setup: installing ${pair#*:}"
    DEBIAN_FRONTEND=noninteractive apt_install "${pair#*:}"
  fi
done
# WASM plugins (the example plugin) build for wasm32-unknown-unknown.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  echo "setup: adding the rustup target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi
# The console's browser bundle: wasm-bindgen at exactly the version Cargo.lock pins (without
# --locked: the CLI's own lock file pins a crate version the registry no longer serves).
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
wasm_bindgen="$(grep -A1 '^name = "wasm-bindgen"$' "$repo/Cargo.lock" | sed -n 's/^version = "\(.*\)"$/\1/p')"
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)" != "$wasm_bindgen" ]; then
  echo "setup: installing wasm-bindgen-cli $wasm_bindgen"
  cargo install wasm-bindgen-cli --version "$wasm_bindgen"
fi
# The console's browser tests: Debian's chromium driven by playwright-core (node and npm from
# Debian when missing; nothing is downloaded by playwright itself).
if ! command -v chromium >/dev/null 2>&1; then
  echo "setup: installing chromium"
  DEBIAN_FRONTEND=noninteractive apt_install chromium
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "setup: installing nodejs and npm"
  DEBIAN_FRONTEND=noninteractive apt_install nodejs npm
fi
if [ ! -d "$repo/e2e/console/node_modules/playwright-core" ]; then
  echo "setup: installing the console tests' node packages"
  (cd "$repo/e2e/console" && npm ci --no-audit --no-fund)
fi
echo "setup: ok"
