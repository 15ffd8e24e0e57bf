#!/usr/bin/env bash
# Install the Python tools gantry checks its ONNX files with, into .tools/python (nothing
# system-wide): onnxruntime (its libonnxruntime.so is what `gantry export` verifies with,
# through ort's dynamic loading), onnx (the official checker and shape inference) and scipy
# (the independent reference the evaluation statistics are tested against).
#
#   scripts/setup-python-tools.sh        then: export ORT_DYLIB_PATH=$(scripts/setup-python-tools.sh --print-ort)
set -euo pipefail
cd "$(dirname "$0")/.."
target=.tools/python
stamp=$target/.installed-onnxruntime-1.32.0-onnx-1.23.2-scipy-1.16.3
if [ ! -f "$stamp" ]; then
  rm -rf "$target"
  python3 -m pip install --quiet --disable-pip-version-check --target "$target" \
    onnxruntime==1.32.0 onnx==1.23.2 scipy==1.16.3 >&2
  touch "$stamp"
fi
if [ "${1:-}" = "--print-ort" ]; then
  ls "$PWD/$target"/onnxruntime/capi/libonnxruntime.so.* | head -n 1
fi
