#!/usr/bin/env bash
# Real CIFAR-10 training on the GPU machine, cnnzoo beside the PyTorch peer in the same call:
# PreAct-ResNet18 trained on 40,000 images (data_batch_1..4) and validated on the held-out 10,000
# (data_batch_5), both in bf16 at batch 512 with a one-cycle schedule peaking at 0.4, flips,
# 4-pixel crops and label smoothing 0.1 (the peer's recipe, ../shared/peers/torch_train_resnet18.py).
# Both are timed the same way: training steps only (cnnzoo's report.json step_seconds, the peer's
# train_seconds); each evaluates the held-out split outside that time.
#
#   scripts/gpu-train-check.sh prepare     on the CPU machine (nvcc and cuDNN installed): builds a
#                                          cnnzoo-train that carries ResNet18 only (CNNZOO_ZOO_MODELS)
#                                          into carry/gpu-train/, with the JPEG tarball, its converter
#                                          and the peer scripts (../shared does not travel), and lists
#                                          what will travel.
#   scripts/gpu-train-check.sh preflight   on the GPU machine: versions, the cuDNN chosen, the data,
#                                          then a few steps of cnnzoo-train in fp32, tf32, bf16 and
#                                          fp16. About a minute.
#   scripts/gpu-train-check.sh [run]       the preflight, then both trainings (carry ["carry/gpu-train"]).
#
# Environment: EPOCHS (default 18), DEADLINE (s from the start, default 540: nothing starts that
# cannot end before it; the trainings get what is left), OUT (default build-gpu-train-out: gets
# summary.txt and gpu-train-check.tar.gz), SCRATCH (default /tmp/cnnzoo-gpu-train: data, runs,
# logs), SKIP_PEER=1, FORCE=1 (go on after a failed preflight).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
mode=${1:-run}
carry=carry/gpu-train
epochs=${EPOCHS:-18}
started=$(date +%s)
deadline=${DEADLINE:-540}
source scripts/gpu-common.sh

if [ "$mode" = prepare ]; then
  set -e
  prepare_trainer_carry build-gpu-train ResNet18 "${SHARED:-../shared}"/peers/torch_train_resnet18.py \
    "${SHARED:-../shared}"/peers/torch_throughput.py
fi
[ "$mode" = prepare ] || [ "$mode" = manifest ] && carry_manifest gpu-train-check

# ---- the GPU machine ----------------------------------------------------------------------------------------
gpu_output gpu-train-check
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
train=$carry/bin/cnnzoo-train

preflight() {
  echo "== preflight: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo 'no nvidia-smi'), $epochs epochs"
  [ -x "$train" ] || { echo "gpu-train-check: $train missing: run 'prepare' and carry $carry"; return 1; }
  choose_cudnn "$(cat "$carry/CUDNN_BUILT" 2>/dev/null)"
  ldd "$train" | grep -E "cudnn|cublas|cudart|not found" | sed 's/^/  /'
  # The data, in the binary format for cnnzoo and as tensors (the same split) for the peer.
  if [ ! -f "$scratch/cifar10/data_batch_5.bin" ]; then
    python3 "$carry/data/make_cifar10_bin.py" "$carry/data/cifar10-train-jpeg.tar.xz" --out "$scratch/cifar10" || return 1
  fi
  # A few steps in each precision: the trainer's first lines name the device, the math mode and
  # the cuDNN that ran.
  local p rc=0
  for p in fp32 tf32 bf16 fp16; do
    preflight_step "$p" "$scratch/preflight-$p.log" 30 "$train" --model ResNet18 --data "$scratch/cifar10" \
      --val-split 10000 --limit-train 1024 --device cuda --precision "$p" --batch-size 256 --epochs 1 --seed 1 \
      --out "$scratch/preflight-$p" --overwrite || rc=1
  done
  return $rc
}

preflight
preflight_verdict gpu-train-check $?

python3 - "$scratch/cifar10" "$scratch/pt" <<'PY' || exit 1
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

# Each side gets half of what is left, so the peer always runs too.
share=$(( ($(budget 100000) - 10) / 2 ))
echo "== cnnzoo-train ($epochs epochs, up to $share s)"
s=$(date +%s)
timeout "$share" "$train" --model ResNet18 --data "$scratch/cifar10" --val-split 10000 --device cuda --precision bf16 \
  --batch-size 512 --epochs "$epochs" --schedule onecycle --lr 0.4 --momentum 0.9 --weight-decay 5e-4 \
  --label-smoothing 0.1 --flip true --crop-padding 4 --cutout 0 --seed 1 --out "$scratch/cnnzoo" --overwrite > "$scratch/cnnzoo.log" 2>&1 ||
  echo "gpu-train-check: cnnzoo-train ended with rc $?"
tail -4 "$scratch/cnnzoo.log"
cnnzoo_wall=$(( $(date +%s) - s ))

if [ "${SKIP_PEER:-0}" != 1 ]; then
  limit=$(budget 100000)
  echo "== PyTorch peer ($epochs epochs, up to $limit s)"
  s=$(date +%s)
  (cd "$carry/peers" && timeout "$limit" python3 torch_train_resnet18.py "$scratch/pt" "$epochs") > "$scratch/torch.log" 2>&1 ||
    echo "gpu-train-check: the peer ended with rc $?"
  tail -2 "$scratch/torch.log"
  torch_wall=$(( $(date +%s) - s ))
fi

python3 - "$scratch" "$cnnzoo_wall" "${torch_wall:-0}" "$epochs" <<'PY'
import json, sys
out, cw, tw, epochs = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
try: c = json.load(open(f"{out}/cnnzoo/report.json"))
except Exception: c = {}
t = {}
try:
    for line in open(f"{out}/torch.log"):
        if line.startswith("{") and "test_acc" in line: t = json.loads(line)
except Exception: pass
nan = float("nan")
print(f"\n== PreAct-ResNet18, CIFAR-10 40k/10k, bf16, batch 512, {epochs} epochs (same card, same call)")
print(f"{'':8} {'accuracy':>9} {'train s':>9} {'wall s':>8}   (train s: training steps only, on both sides)")
print(f"{'cnnzoo':8} {c.get('test_accuracy', nan):9.4f} {c.get('step_seconds', nan):9.1f} {cw:8.1f}")
print(f"{'pytorch':8} {t.get('test_acc', nan):9.4f} {t.get('train_seconds', nan):9.1f} {tw:8.1f}")
if c.get("step_seconds") and t.get("train_seconds"):
    print(f"time ratio cnnzoo/pytorch {c['step_seconds'] / t['train_seconds']:.2f} (goal <= 0.67, accuracy >= the peer's)")
PY
