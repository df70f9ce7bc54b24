#!/usr/bin/env bash
# Installs what cnnzoo needs on Debian 12 (or Ubuntu): compiler, CMake, Eigen, Catch2, Google
# Benchmark, CLI11, nlohmann-json, stb and Pillow (for the CIFAR-10 converter). The CUDA policy
# additionally needs the CUDA toolkit and cuDNN 9 where a GPU build is wanted; the CPU build never does.
set -euo pipefail
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends \
  g++ make cmake libeigen3-dev catch2 libbenchmark-dev libcli11-dev nlohmann-json3-dev libstb-dev \
  python3 python3-pil ca-certificates >/dev/null
echo "cnnzoo: dependencies installed"
