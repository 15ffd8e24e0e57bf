#!/usr/bin/env bash
# A software Vulkan device for the GPU code path's tests: Debian's Mesa lavapipe
# (mesa-vulkan-drivers, `llvmpipe`) and the Vulkan loader. burn's wgpu backend runs its
# CubeCL kernels on it as on a GPU, compiled from WGSL (tests/tests/gpu.rs; the README's
# GPU section says why WGSL and not SPIR-V).
#
#   scripts/setup-vulkan.sh
set -euo pipefail
if ls /usr/share/vulkan/icd.d/lvp_icd.*.json >/dev/null 2>&1 && ldconfig -p | grep -q libvulkan.so.1; then
  exit 0
fi
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq mesa-vulkan-drivers libvulkan1 >/dev/null
