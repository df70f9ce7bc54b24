#!/usr/bin/env bash
# Configures, builds and runs every test (ctest prints the summary line).
#   BUILD_DIR  build directory (default: build)
#   JOBS       parallel jobs (default: all cores)
#   CNNZOO_CUDA  AUTO (default: build the CUDA policy where nvcc and cuDNN are found), ON or OFF
#   CNNZOO_HEAVY 1: also the tests labelled heavy (SENet154's learning, parity and ONNX checks)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
jobs=${JOBS:-$(nproc)}
# Large buffers on transparent huge pages where the kernel offers them on request (madvise): the
# parity, ONNX and learning tests allocate and first-touch gigabytes, and a 2 MiB page faults once
# where 512 small ones would (the parity suite's WideResNet check: 104 s -> 74 s). Only where
# allocation happens; no result changes.
export GLIBC_TUNABLES=${GLIBC_TUNABLES:-glibc.malloc.hugetlb=1}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCNNZOO_CUDA="${CNNZOO_CUDA:-AUTO}"
cmake --build "$build" -j "$jobs"
# Tests labelled heavy (SENet154's learning, parity and ONNX checks: 15 minutes alone) only with CNNZOO_HEAVY=1.
if [ "${CNNZOO_HEAVY:-0}" = 1 ]; then
  ctest --test-dir "$build" --output-on-failure -j "$jobs"
else
  ctest --test-dir "$build" --output-on-failure -j "$jobs" -LE '^heavy$'
fi
