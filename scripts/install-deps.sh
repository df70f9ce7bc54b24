#!/usr/bin/env bash
# Installs what cnnzoo needs on Debian 12 (or Ubuntu): compiler, CMake, Eigen, Catch2, Google
# Benchmark, CLI11, nlohmann-json, stb, oneDNN (the CPU kernels' matrix products, whose instruction
# set it picks at run time; Debian's CMake package of it asks for OpenCL's), Open MPI (mpirun -np N
# cnnzoo-train: data-parallel training) and Pillow (for the CIFAR-10 converter). The CUDA policy
# additionally needs the CUDA toolkit and cuDNN 9 where a GPU build is wanted; the CPU build never does.
# For the parity and ONNX checks (CTest labels parity and onnx; they skip without these): PyTorch
# (python3-torch), the onnx package (python3-onnx), Node.js and ONNX Runtime's Node package,
# installed into .deps/node_modules without its install script (which only fetches GPU parts).
# For the sanitizer and fuzz runs (scripts/sanitize.sh): clang, whose libFuzzer runtime Debian ships with it.
# CNNZOO_DEPS=build installs only what building and training need (scripts/quickstart.sh).
set -euo pipefail
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends \
  g++ make cmake libeigen3-dev catch2 libbenchmark-dev libcli11-dev nlohmann-json3-dev libstb-dev \
  libdnnl-dev ocl-icd-opencl-dev openmpi-bin libopenmpi-dev python3 python3-pil ca-certificates >/dev/null
if [ "${CNNZOO_DEPS:-all}" = build ]; then
  echo "cnnzoo: build dependencies installed"
  exit 0
fi
$sudo apt-get install -y -qq --no-install-recommends python3-numpy python3-torch python3-onnx >/dev/null
# libtorch's C++ headers: bench_libtorch_compare times cnnzoo beside libtorch in one process.
$sudo apt-get install -y -qq --no-install-recommends libtorch-dev >/dev/null
# For scripts/sanitize.sh: clang and its libFuzzer runtime (the fuzz targets of tests/fuzz).
$sudo apt-get install -y -qq --no-install-recommends clang >/dev/null
# Node.js from Debian where none is installed (a NodeSource node already brings its own npm).
command -v node >/dev/null || $sudo apt-get install -y -qq --no-install-recommends nodejs >/dev/null
command -v npm >/dev/null || $sudo apt-get install -y -qq --no-install-recommends npm >/dev/null
cd "$(dirname "$0")/.."
if [ ! -d .deps/node_modules/onnxruntime-node ]; then
  npm install --silent --ignore-scripts --no-audit --no-fund --prefix .deps onnxruntime-node@1.30.0 >/dev/null
fi
echo "cnnzoo: dependencies installed"
