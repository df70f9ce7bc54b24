#!/usr/bin/env bash
# Real CIFAR-10 training on the GPU machine, cnnzoo beside the PyTorch peer in the same call:
# PreAct-ResNet18 trained on 40,000 images (data_batch_1..4) and validated on the held-out 10,000
# (data_batch_5), both in bf16 at batch 512 with a one-cycle schedule peaking at 0.4, flips,
# 4-pixel crops and label smoothing 0.1 (the peer's recipe, ../shared/peers/torch_train_resnet18.py).
#
#   scripts/gpu-train-check.sh prepare   on the CPU machine (nvcc and cuDNN installed): builds a
#                                        cnnzoo-train that carries ResNet18 only (CNNZOO_ZOO_MODELS)
#                                        into carry/gpu-train/, with the JPEG tarball, its converter
#                                        and the peer scripts (../shared does not travel).
#   scripts/gpu-train-check.sh [run]     on the GPU machine, with carry ["carry/gpu-train"]:
#                                        converts the data (~10 s), runs both, prints a table last.
#
# Environment: EPOCHS (default 18), OUT (default build-gpu-train-out), SKIP_PEER=1.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
mode=${1:-run}
carry=carry/gpu-train
epochs=${EPOCHS:-18}

if [ "$mode" = prepare ]; then
  set -e
  shared=${SHARED:-../shared}
  cmake -S . -B build-gpu-train -DCMAKE_BUILD_TYPE=Release -DCNNZOO_CUDA=ON -DCNNZOO_BUILD_TESTS=OFF \
    -DCNNZOO_BUILD_BENCHMARKS=OFF -DCNNZOO_BUILD_EXAMPLES=ON "-DCNNZOO_ZOO_MODELS=ResNet18" >/dev/null
  cmake --build build-gpu-train --target cnnzoo-train -j "${JOBS:-2}"
  rm -rf "$carry"
  mkdir -p "$carry/bin" "$carry/data" "$carry/peers"
  cp build-gpu-train/examples/cnnzoo-train "$carry/bin/" && strip "$carry/bin/cnnzoo-train"
  cp "$shared/cifar10/cifar10-train-jpeg.tar.xz" "$shared/cifar10/make_cifar10_bin.py" "$carry/data/"
  cp "$shared"/peers/*.py "$carry/peers/"
  git rev-parse HEAD > "$carry/COMMIT" 2>/dev/null || true
  echo "gpu-train-check prepare: $(du -sh "$carry" | cut -f1) in $carry"
  exit 0
fi

out=${OUT:-build-gpu-train-out}
mkdir -p "$out"
out=$(cd "$out" && pwd)
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
echo "== gpu-train-check: $(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || echo 'no nvidia-smi'), $epochs epochs"
[ -x "$carry/bin/cnnzoo-train" ] || { echo "gpu-train-check: $carry/bin/cnnzoo-train missing: run 'prepare' and carry $carry"; exit 1; }

# ---- data: the binary format for cnnzoo, the same split as tensors for the peer ----------------------
python3 "$carry/data/make_cifar10_bin.py" "$carry/data/cifar10-train-jpeg.tar.xz" --out "$out/cifar10" || exit 1
python3 - "$out/cifar10" "$out/pt" <<'PY' || exit 1
import os, sys, numpy as np, torch
src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst, exist_ok=True)
def load(names):
    raw = np.concatenate([np.fromfile(os.path.join(src, n), dtype=np.uint8) for n in names]).reshape(-1, 3073)
    images = raw[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)   # NHWC, as the peer expects
    return {"images": torch.from_numpy(np.ascontiguousarray(images)), "labels": torch.from_numpy(raw[:, 0].astype(np.int64))}
torch.save(load([f"data_batch_{b}.bin" for b in range(1, 5)]), os.path.join(dst, "train.pt"))
torch.save(load(["data_batch_5.bin"]), os.path.join(dst, "test.pt"))   # cnnzoo's --val-split 10000 holds out the same
print("split: 40000 training, 10000 held out (data_batch_5)")
PY

# ---- cnnzoo ---------------------------------------------------------------------------------------------
echo "== cnnzoo-train"
s=$(date +%s)
"$carry/bin/cnnzoo-train" --model ResNet18 --data "$out/cifar10" --val-split 10000 --device cuda --precision bf16 \
  --batch-size 512 --epochs "$epochs" --schedule onecycle --lr 0.4 --momentum 0.9 --weight-decay 5e-4 \
  --label-smoothing 0.1 --flip true --crop-padding 4 --cutout 0 --seed 1 --out "$out/cnnzoo" 2>&1 | tee "$out/cnnzoo.log"
cnnzoo_wall=$(( $(date +%s) - s ))

# ---- the peer, same split, same call ------------------------------------------------------------------------
if [ "${SKIP_PEER:-0}" != 1 ]; then
  echo "== PyTorch peer"
  s=$(date +%s)
  (cd "$carry/peers" && python3 torch_train_resnet18.py "$out/pt" "$epochs") 2>&1 | tee "$out/torch.log"
  torch_wall=$(( $(date +%s) - s ))
fi

python3 - "$out" "$cnnzoo_wall" "${torch_wall:-0}" <<'PY'
import json, sys
out, cw, tw = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
try: c = json.load(open(f"{out}/cnnzoo/report.json"))
except Exception: c = {}
t = {}
try:
    for line in open(f"{out}/torch.log"):
        if line.startswith("{") and "test_acc" in line: t = json.loads(line)
except Exception: pass
print("\n== PreAct-ResNet18, CIFAR-10 40k/10k, bf16, batch 512 (same card, same call)")
print(f"{'':8} {'accuracy':>9} {'train s':>9} {'wall s':>8}")
print(f"{'cnnzoo':8} {c.get('test_accuracy', float('nan')):9.4f} {c.get('train_seconds', float('nan')):9.1f} {cw:8.1f}")
print(f"{'pytorch':8} {t.get('test_acc', float('nan')):9.4f} {t.get('train_seconds', float('nan')):9.1f} {tw:8.1f}")
if c.get("train_seconds") and t.get("train_seconds"):
    print(f"time ratio cnnzoo/pytorch {c['train_seconds'] / t['train_seconds']:.2f} (goal <= 0.67, accuracy >= the peer's)")
print("(cnnzoo's train_seconds include its per-epoch validation; the peer evaluates once at the end)")
PY
