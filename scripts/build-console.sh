#!/usr/bin/env bash
# Builds the console's browser bundle: the frontend crate for wasm32 with the `hydrate`
# feature, then wasm-bindgen (the version Cargo.lock pins; scripts/setup.sh installs it).
# Writes <site>/pkg/aoi_console.js and aoi_console_bg.wasm, where `aoi serve` finds them:
# <site> is $CARGO_TARGET_DIR/console-site (default target/console-site), or $AOI_CONSOLE_SITE.
# Prints `export AOI_CONSOLE_SITE=<site>` last. The server itself renders every page without
# the bundle; the bundle adds live updates and inline forms.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
target="${CARGO_TARGET_DIR:-$repo/target}"
site="${AOI_CONSOLE_SITE:-$target/console-site}"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  echo "build-console: the wasm32-unknown-unknown target is missing; run scripts/setup.sh" >&2
  exit 1
fi
want="$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"$/\1/p')"
have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)"
if [ "$have" != "$want" ]; then
  echo "build-console: wasm-bindgen $want is needed (found '${have:-none}'); run scripts/setup.sh" >&2
  exit 1
fi

echo "build-console: building the browser bundle" >&2
cargo build --quiet --locked -p aoi-console-frontend --lib --target wasm32-unknown-unknown \
  --features hydrate --profile wasm-release
wasm="$target/wasm32-unknown-unknown/wasm-release/aoi_console_frontend.wasm"
[ -f "$wasm" ] || { echo "build-console: $wasm was not built" >&2; exit 1; }
mkdir -p "$site/pkg"
wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section --out-dir "$site/pkg" --out-name aoi_console "$wasm"
size="$(stat -c %s "$site/pkg/aoi_console_bg.wasm")"
echo "build-console: $site/pkg/aoi_console_bg.wasm ($size bytes)" >&2
echo "export AOI_CONSOLE_SITE=$site"
