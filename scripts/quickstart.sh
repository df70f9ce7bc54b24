#!/usr/bin/env bash
# Sets up everything on a fresh Debian 12 machine and trains a model on CIFAR-10:
#   scripts/quickstart.sh                      # ResNet18, as much as this machine can do quickly
#   scripts/quickstart.sh --model WideResNet   # any cnnzoo-train flags replace the defaults
# The data is read from data/cifar10 (or $CNNZOO_DATA, or --data DIR). Where it is missing, the
# quickstart gets it (scripts/get-cifar10.sh): from an archive of CIFAR-10 image files named by
# $CNNZOO_CIFAR10_JPEG (converted offline), else by downloading the official archive
# (scripts/download-cifar10.sh, MD5-checked), asking first when run on a terminal. Running it
# again continues (GPU) or repeats (CPU demo) the run in runs/.
set -euo pipefail
cd "$(dirname "$0")/.."
CNNZOO_DEPS=build scripts/install-deps.sh   # the test-only extras (PyTorch, ONNX) are scripts/test.sh's
# The data first (a question, if any, comes before the build), where the flags do not name it
# (--data, or --resume of a run that knows its own).
given_data=0
for arg in "$@"; do [[ "$arg" == --data || "$arg" == --data=* || "$arg" == --resume ]] && given_data=1; done
if [ "$given_data" = 0 ]; then scripts/get-cifar10.sh; fi
build=${BUILD_DIR:-build}
have_gpu=0
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then have_gpu=1; fi
# The CUDA instantiations (three precisions per model) are most of the build: only where a GPU is
# found, or where CNNZOO_CUDA asks for them. Without a GPU the build takes about 3 minutes on 2 cores.
cuda=${CNNZOO_CUDA:-$([ "$have_gpu" = 1 ] && echo AUTO || echo OFF)}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCNNZOO_CUDA="$cuda" -DCNNZOO_NATIVE=ON >/dev/null
cmake --build "$build" -j "$(nproc)" --target cnnzoo-train cnnzoo-models cnnzoo-summary
train="$build/apps/cnnzoo-train"

if [ "$#" -gt 0 ]; then
  exec "$train" "$@"
fi
if [ "$have_gpu" = 1 ]; then
  # A GPU: the seed's recipe for ResNet18 (150 epochs), validating on 5,000 held-out images; a run
  # stopped earlier (Ctrl-C saves a checkpoint) continues where it stopped.
  if [ -f runs/ResNet18/checkpoint.bin ]; then exec "$train" --resume runs/ResNet18; fi
  exec "$train" --model ResNet18 --device cuda --precision bf16 --val-split 5000 --out runs/ResNet18
fi
# No GPU: a short CPU run that finishes in minutes; the full recipe on the CPU would take days.
echo "cnnzoo: no GPU found; training ResNet18 on the CPU for a few minutes (2,000 images, 2 epochs)."
echo "        For the full recipe run: $train --model ResNet18 --val-split 5000"
exec "$train" --model ResNet18 --device cpu --epochs 2 --limit-train 2000 --val-split 1000 \
  --batch-size 64 --out runs/ResNet18-cpu-demo --overwrite
