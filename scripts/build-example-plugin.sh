#!/usr/bin/env bash
# Builds the example WASM plugin (plugins/examples/http-prober) and signs it into a plugin package.
#
# Prints the .wasm path, the package path and the trusted_publishers TOML snippet for the key.
# The signing key is an EXAMPLE key, made once under the build folder: fine for trying the
# tutorial (docs/plugin-tutorial-wasm.md), never for a real publisher, whose key stays offline.
#
# Environment:
#   AOI_EXAMPLE_TARGET_DIR  build folder of the example (default /var/tmp/aoi-target-example)
#   CARGO_TARGET_DIR        build folder of the workspace, for aoi-plugin-sign (default /var/tmp/aoi-target)
# Idempotent: rebuilds when sources changed, keeps the key, writes the package anew.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
example="$repo/plugins/examples/http-prober"
target="${AOI_EXAMPLE_TARGET_DIR:-/var/tmp/aoi-target-example}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/aoi-target}"
publisher=example
key_id=example-dev

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  echo "build-example-plugin: the wasm32-unknown-unknown target is missing; run scripts/setup.sh" >&2
  exit 1
fi

echo "build-example-plugin: building $example" >&2
locked=()
[ -f "$example/Cargo.lock" ] && locked=(--locked)
CARGO_TARGET_DIR="$target" cargo build --quiet --release "${locked[@]}" \
  --target wasm32-unknown-unknown --manifest-path "$example/Cargo.toml"
wasm="$target/wasm32-unknown-unknown/release/aoi_example_http_prober.wasm"
[ -f "$wasm" ] || { echo "build-example-plugin: $wasm was not built" >&2; exit 1; }

sign() {
  cargo run --quiet --manifest-path "$repo/Cargo.toml" -p aoi-plugin-package --bin aoi-plugin-sign -- "$@"
}

keys="$target/aoi-example-signing"
key="$keys/$publisher.key.json"
mkdir -p "$keys"
chmod 700 "$keys"
if [ ! -f "$key" ]; then
  echo "build-example-plugin: making the example signing key $key (example only)" >&2
  sign keygen --out "$key" >/dev/null
fi
public_key="$(sed -n 's/.*"public_key": *"\([^"]*\)".*/\1/p' "$key")"
[ -n "$public_key" ] || { echo "build-example-plugin: no public_key in $key" >&2; exit 1; }

version="$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$example/manifest.json" | head -n 1)"
package="$target/http-prober-$version.aoi-plugin.json"
rm -f "$package"
sign sign --manifest "$example/manifest.json" --payload "$wasm" --key "$key" --key-id "$key_id" \
  --out "$package" >/dev/null
sign verify --package "$package" --publisher "$publisher" --public-key "$public_key" >/dev/null

cat <<OUT
wasm: $wasm
package: $package

# trusted_publishers entry for the example key (example only; paste into the server config):
[plugins.trusted_publishers]
$publisher = [{ key_id = "$key_id", public_key = "$public_key" }]

# the sandbox tests use the module:
export AOI_EXAMPLE_PLUGIN_WASM=$wasm
OUT
