#!/usr/bin/env bash
# PyTorch (CPU use; the PyPI wheel, ~5 GB with its CUDA libraries) plus onnx and onnxscript
# into .tools/torch: the training benchmark's twin (scripts/bench-train) and the PyTorch
# exports the browser runtime is tested on (scripts/pytorch_exports.py) both use it.
#
#   scripts/setup-torch.sh            # prints the virtualenv's python
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.tools/torch
if ! "$venv/bin/python" -c 'import torch, onnx, onnxscript' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'torch==2.15.*' numpy onnx onnxscript >&2
fi
echo "$venv/bin/python"
