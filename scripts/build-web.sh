#!/usr/bin/env bash
# Build the browser runtime (web/, gantry-web) to wasm32 and its JS glue and TypeScript
# declarations into www/pkg/, optimised by wasm-opt: the page loads it from there, and it is
# an npm package as it stands (package.json and README from web/), for other pages:
#
#   scripts/build-web.sh
#   npm pack ./www/pkg                                    (gantry-web-VERSION.tgz)
#   GANTRY_WASM_TOOLCHAIN=debian scripts/build-web.sh    (force the offline route below)
#
# One build serves every page. It has wasm SIMD and wasm threads: with `+atomics,+bulk-memory`
# its memory is shared, so where a page is cross-origin isolated (`gantry serve` sends
# COOP/COEP) a Worker can call `initThreadPool(n)` and burn flex's kernels split over n Web
# Workers (wasm-bindgen-rayon); anywhere else the same file runs on one thread. Rust's
# prebuilt std for wasm32 has no atomics, so std is rebuilt with them (-Zbuild-std, which
# needs std's sources and RUSTC_BOOTSTRAP): rustup's toolchain with its rust-src component
# where rustup can install them, else Debian's rustc-web (Rust 1.96) with rust-web-src,
# linking with rustup's rust-lld. wasm-bindgen-cli is installed at the version Cargo.lock
# pins (the two must match).
set -euo pipefail
cd "$(dirname "$0")/.."
target=wasm32-unknown-unknown
# wasm SIMD (128-bit vectors): every browser of the last years runs it (Chrome 91, Firefox
# 89, Safari 16.4), onnxruntime-web ships no other build either, and it is what makes gemm's
# `simd128` microkernels and macerator's element-wise kernels the code that runs
# (docs/performance.md has the before and after). Threads as onnxruntime-web's build has
# them: shared memory imported by the JS glue, up to 4 GiB, thread-local storage exported
# for each Worker to set up its own.
link="--shared-memory --import-memory --max-memory=4294967296"
link+=" --export=__wasm_init_tls --export=__tls_size --export=__tls_align --export=__tls_base"
flags="-C target-feature=+simd128,+atomics,+bulk-memory"
for arg in $link; do flags+=" -C link-arg=$arg"; done
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="$flags"
build=(build --release -p gantry-web --features threads --target "$target" -Zbuild-std=std,panic_abort)

use_rustup() {
  [ "${GANTRY_WASM_TOOLCHAIN:-}" != debian ] && command -v rustup >/dev/null || return 1
  rustup target list --installed 2>/dev/null | grep -qx "$target" || rustup target add "$target" >/dev/null 2>&1 || return 1
  [ -d "$(rustc --print sysroot)/lib/rustlib/src/rust/library" ] || rustup component add rust-src >/dev/null 2>&1
}

if use_rustup; then
  RUSTC_BOOTSTRAP=1 cargo "${build[@]}"
  wasm=target/$target/release/gantry_web.wasm
else
  echo "rustup cannot give std's sources for $target here: building with Debian's rustc-web" >&2
  if ! /usr/bin/rustc --version 2>/dev/null | grep -qE '^rustc 1\.(9[5-9]|[1-9][0-9]{2})'; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rustc-web cargo-web rust-web-src >/dev/null
  fi
  lld="$(rustc --print sysroot)/lib/rustlib/x86_64-unknown-linux-gnu/bin/rust-lld"
  PATH=/usr/bin:$PATH RUSTC_BOOTSTRAP=1 CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER="$lld" \
    cargo "${build[@]}" --target-dir target/wasm
  wasm=target/wasm/$target/release/gantry_web.wasm
fi

version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -q " $version\$"; then
  echo "installing wasm-bindgen-cli $version (matches Cargo.lock)" >&2
  # Not --locked: its lockfile pins a webpki-roots release the registry no longer serves.
  # --debug: compiles in 68 s instead of 136 s on 2 cores (a clean CI run pays it each
  # time) and writes byte-identical output, in 2.2 s instead of 0.55 s for gantry-web.
  cargo install --quiet --debug wasm-bindgen-cli --version "$version"
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
