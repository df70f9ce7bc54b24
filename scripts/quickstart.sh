#!/usr/bin/env bash
# Sets up everything on a fresh Debian 12 machine and trains a model on CIFAR-10:
#   scripts/quickstart.sh                      # ResNet18, as much as this machine can do quickly
#   scripts/quickstart.sh --model WideResNet   # any cnnzoo-train flags replace the defaults
# The data is read from data/cifar10 (or $CNNZOO_DATA, or --data DIR). Where it is missing, the
# quickstart gets it: from a CIFAR-10 JPEG archive named by $CNNZOO_CIFAR10_JPEG (converted
# offline), else by downloading the official archive (scripts/download-cifar10.sh, MD5-checked),
# asking first when run on a terminal. Running it again continues (GPU) or repeats (CPU demo) the
# run in runs/.
set -euo pipefail
cd "$(dirname "$0")/.."
CNNZOO_DEPS=build scripts/install-deps.sh   # the test-only extras (PyTorch, ONNX) are scripts/test.sh's
build=${BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCNNZOO_CUDA="${CNNZOO_CUDA:-AUTO}" -DCNNZOO_NATIVE=ON >/dev/null
cmake --build "$build" -j "$(nproc)" --target cnnzoo-train cnnzoo-models cnnzoo-summary
train="$build/apps/cnnzoo-train"

# ---- the data --------------------------------------------------------------------------------------
data=${CNNZOO_DATA:-data/cifar10}
given_data=0
for arg in "$@"; do [[ "$arg" == --data || "$arg" == --data=* || "$arg" == --resume ]] && given_data=1; done
have_data() { [[ -f "$1/data_batch_1.bin" || -f "$1/cifar-10-batches-bin/data_batch_1.bin" ]]; }
if [ "$given_data" = 0 ] && ! have_data "$data"; then
  jpeg=${CNNZOO_CIFAR10_JPEG:-}
  if [ -n "$jpeg" ] && [ -f "$jpeg" ]; then
    echo "cnnzoo: converting the CIFAR-10 JPEG archive $jpeg into $data (no network needed)"
    python3 scripts/cifar10_from_images.py "$jpeg" --out "$data"
  else
    answer=y
    if [ -t 0 ] && [ -t 1 ]; then
      read -r -p "cnnzoo: CIFAR-10 is not in $data. Download it (163 MB, from www.cs.toronto.edu, MD5-checked)? [Y/n] " answer
    fi
    case "${answer:-y}" in
      [Yy]*) ;;
      *) echo "cnnzoo: no data, nothing to train on. Put CIFAR-10 in $data (README.md, 'Getting the data') and run this again."; exit 4 ;;
    esac
    if ! scripts/download-cifar10.sh "$data"; then
      cat >&2 <<MSG
cnnzoo: the download did not work (is this machine offline?). Other ways to get the data:
  - on a machine with internet access: scripts/download-cifar10.sh, then copy $data here
  - from a CIFAR-10 JPEG archive (a tar of class-named folders of PNG/JPEG images):
      CNNZOO_CIFAR10_JPEG=/path/to/archive.tar.xz scripts/quickstart.sh
  - from any other copy: write the official binary format (README.md, 'Getting the data')
MSG
      exit 4
    fi
  fi
fi

if [ "$#" -gt 0 ]; then
  exec "$train" "$@"
fi
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
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
