#!/usr/bin/env bash
# Build the browser runtime (web/, gantry-web) to wasm32 and its JS glue and TypeScript
# declarations into www/pkg/, optimised by wasm-opt: the page loads it from there, and it is
# an npm package as it stands (package.json and README from web/), for other pages:
#
#   scripts/build-web.sh
#   npm pack ./www/pkg                                    (gantry-web-VERSION.tgz)
#   GANTRY_WASM_TOOLCHAIN=debian scripts/build-web.sh    (force the offline route below)
#
# Uses `rustup target add wasm32-unknown-unknown` where that works. Where rustup cannot
# download the target (offline machines), it installs Debian's rustc-web (Rust 1.96) with its
# std sources and builds std for wasm32 itself (-Zbuild-std), linking with rustup's rust-lld.
# wasm-bindgen-cli is installed at the version Cargo.lock pins (the two must match).
set -euo pipefail
cd "$(dirname "$0")/.."
target=wasm32-unknown-unknown
# wasm SIMD (128-bit vectors): every browser of the last years runs it (Chrome 91, Firefox
# 89, Safari 16.4), onnxruntime-web ships no other build either, and it is what makes gemm's
# `simd128` microkernels and macerator's element-wise kernels the code that runs
# (docs/performance.md has the before and after).
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128"

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
rm -rf www/pkg
wasm-bindgen --target web --out-dir www/pkg "$wasm"

# wasm-opt from Binaryen's npm build (Debian's binaryen is years older than rustc's wasm).
# It reads the module's target-features section, so it keeps to what rustc turned on.
tools=.tools/binaryen
if ! cmp -s scripts/binaryen/package-lock.json "$tools/package-lock.json" 2>/dev/null ||
  [ ! -e "$tools/node_modules/binaryen/bin/wasm-opt" ]; then
  mkdir -p "$tools"
  cp scripts/binaryen/package.json scripts/binaryen/package-lock.json "$tools/"
  (cd "$tools" && npm ci --silent --no-audit --no-fund)
fi
raw=$(stat -c %s www/pkg/gantry_web_bg.wasm)
node "$tools/node_modules/binaryen/bin/wasm-opt" -O3 www/pkg/gantry_web_bg.wasm -o www/pkg/gantry_web_bg.opt.wasm
mv www/pkg/gantry_web_bg.opt.wasm www/pkg/gantry_web_bg.wasm
echo "wasm-opt -O3: $raw -> $(stat -c %s www/pkg/gantry_web_bg.wasm) bytes" >&2

# The npm package: version, licence and repository are the workspace's (Cargo.toml).
field() { awk -F'"' -v key="$1" '/^\[workspace.package\]/ { p = 1 } p && $0 ~ "^" key " *=" { print $2; exit }' Cargo.toml; }
sed -e "s|@VERSION@|$(field version)|" -e "s|@LICENSE@|$(field license)|" -e "s|@REPOSITORY@|$(field repository)|" \
  web/npm/package.json >www/pkg/package.json
cp web/README.md www/pkg/README.md
rm -f www/pkg/.gitignore
ls -l www/pkg
