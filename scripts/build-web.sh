#!/usr/bin/env bash
# Build the browser runtime (web/, gantry-web) to wasm32 and its JS glue into www/pkg/.
#
#   scripts/build-web.sh
#   GANTRY_WASM_TOOLCHAIN=debian scripts/build-web.sh    (force the offline route below)
#
# Uses `rustup target add wasm32-unknown-unknown` where that works. Where rustup cannot
# download the target (offline machines), it installs Debian's rustc-web (Rust 1.96) with its
# std sources and builds std for wasm32 itself (-Zbuild-std), linking with rustup's rust-lld.
# wasm-bindgen-cli is installed at the version Cargo.lock pins (the two must match).
set -euo pipefail
cd "$(dirname "$0")/.."
target=wasm32-unknown-unknown

use_rustup() {
  [ "${GANTRY_WASM_TOOLCHAIN:-}" != debian ] &&
    { rustup target list --installed 2>/dev/null | grep -qx "$target" || rustup target add "$target" >/dev/null 2>&1; }
}

if use_rustup; then
  cargo build --release -p gantry-web --target "$target"
  wasm=target/$target/release/gantry_web.wasm
else
  echo "rustup has no $target here: building std for it with Debian's rustc-web" >&2
  if ! /usr/bin/rustc --version 2>/dev/null | grep -qE '^rustc 1\.(9[5-9]|[1-9][0-9]{2})'; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rustc-web cargo-web rust-web-src >/dev/null
  fi
  lld="$(rustc --print sysroot)/lib/rustlib/x86_64-unknown-linux-gnu/bin/rust-lld"
  PATH=/usr/bin:$PATH RUSTC_BOOTSTRAP=1 CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER="$lld" \
    cargo build --release -p gantry-web --target "$target" -Zbuild-std=std,panic_abort --target-dir target/wasm
  wasm=target/wasm/$target/release/gantry_web.wasm
fi

version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -q " $version\$"; then
  echo "installing wasm-bindgen-cli $version (matches Cargo.lock)" >&2
  # Not --locked: its lockfile pins a webpki-roots release the registry no longer serves.
  cargo install --quiet wasm-bindgen-cli --version "$version"
fi
wasm-bindgen --target web --no-typescript --out-dir www/pkg "$wasm"
ls -l www/pkg/gantry_web_bg.wasm
