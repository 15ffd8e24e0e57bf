#!/usr/bin/env bash
# Install TensorBoard from PyPI into .tools/tensorboard (nothing system-wide): the test that
# reads a run's event files back with TensorBoard's own reader uses it, and so can you:
#   PYTHONPATH=.tools/tensorboard python3 -m tensorboard.main --logdir runs
# Its own folder, because its protobuf need not agree with the onnx package's.
set -euo pipefail
cd "$(dirname "$0")/.."
target=.tools/tensorboard
stamp=$target/.installed-tensorboard-2.21.0
if [ ! -f "$stamp" ]; then
  rm -rf "$target"
  python3 -m pip install --quiet --disable-pip-version-check --target "$target" \
    tensorboard==2.21.0 >&2
  touch "$stamp"
fi
