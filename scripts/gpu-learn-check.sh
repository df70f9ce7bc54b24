#!/usr/bin/env bash
# Do the rows learn on real data? Short one-cycle versions of zoo rows on the GPU machine, each
# beside PyTorch (the peer's network definitions, ../shared/peers/torch_zoo.py) with the same
# recipe, split and precision in the same call. Prints: row, epochs, held-out accuracy and
# training time for cnnzoo, the same for PyTorch.
#
# The short recipe, both sides: bf16, batch 512, one-cycle to lr 0.4 (30% up, cosine down),
# Nesterov SGD 0.9, weight decay 5e-4 on kernels, flips and 4-pixel crops, label smoothing 0.1;
# SE-WideResNet_2 keeps its recipe's mixup (0.2) and dropout (0.1), not its affine augmentation,
# clipping or HTD schedule (PyTorch's side has none of them). Training on data_batch_1..4 (40,000
# images), held out: data_batch_5 (10,000). Times are training steps only, on both sides.
#
#   scripts/gpu-learn-check.sh prepare     on the CPU machine (nvcc and cuDNN installed): builds a
#                                          cnnzoo-train carrying only the rows below into
#                                          carry/gpu-learn/, with the JPEG tarball, its converter, the
#                                          peer's torch_zoo.py and scripts/torch_train_peer.py, and
#                                          lists what will travel.
#   scripts/gpu-learn-check.sh preflight   on the GPU machine: versions, the cuDNN chosen, the data,
#                                          a few cnnzoo-train steps of each row.
#   scripts/gpu-learn-check.sh [run]       the preflight, then the rows in order, each side in turn
#                                          (device tool: carry ["carry/gpu-learn"], timeout_s 600).
#
# Environment: ROWS (default "ResNet18:8 WideResNet:3 SE-WideResNet_2:3", NAME:EPOCHS, run in this
# order; a row starts only if its estimate fits before the deadline), DEADLINE (s from the start,
# default 540), OUT (default build-gpu-learn-out: summary.txt, gpu-learn-check.tar.gz), SCRATCH
# (default /tmp/cnnzoo-gpu-learn), SKIP_PEER=1, FORCE=1 (go on after a failed preflight).
set -uo pipefail
cd "$(dirname "$0")/.."
mode=${1:-run}
carry=carry/gpu-learn
rows=${ROWS:-"ResNet18:8 WideResNet:3 SE-WideResNet_2:3"}
started=$(date +%s)
deadline=${DEADLINE:-540}
source scripts/gpu-common.sh
row_names() { local r out=""; for r in $rows; do out+="${out:+;}${r%%:*}"; done; echo "$out"; }

if [ "$mode" = prepare ]; then
  set -e
  prepare_trainer_carry build-gpu-learn "$(row_names)" "${SHARED:-../shared}/peers/torch_zoo.py" scripts/torch_train_peer.py
  echo "$rows" > "$carry/ROWS"
fi
[ "$mode" = prepare ] || [ "$mode" = manifest ] && carry_manifest gpu-learn-check "rows built: $(cat "$carry/ROWS")"

# ---- the GPU machine ----------------------------------------------------------------------------------------
gpu_output gpu-learn-check
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
train=$carry/bin/cnnzoo-train
data=$scratch/cifar10

# cnnzoo-train's flags for a row's short run.
short_recipe() {  # NAME EPOCHS
  local extra=()
  [ "$1" = SE-WideResNet_2 ] && extra=(--recipe sota --warmup-epochs 0 --rotation 0 --shift 0 --shear 0 --zoom 0
                                      --clip-norm 0)
  echo "--model $1 ${extra[*]} --data $data --val-split 10000 --device cuda --precision bf16 --batch-size 512" \
       "--epochs $2 --schedule onecycle --lr 0.4 --momentum 0.9 --nesterov true --weight-decay 5e-4" \
       "--label-smoothing 0.1 --flip true --crop-padding 4 --seed 1"
}

preflight() {
  echo "== preflight: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo 'no nvidia-smi'); rows: $rows"
  [ -x "$train" ] || { echo "gpu-learn-check: $train missing: run 'prepare' and carry $carry"; return 1; }
  choose_cudnn "$(cat "$carry/CUDNN_BUILT" 2>/dev/null)"
  python3 -c 'import torch; print("PyTorch", torch.__version__, "cuDNN", torch.backends.cudnn.version())'
  if [ ! -f "$data/data_batch_5.bin" ]; then
    python3 "$carry/data/make_cifar10_bin.py" "$carry/data/cifar10-train-jpeg.tar.xz" --out "$data" || return 1
  fi
  local r name rc=0
  for r in $rows; do
    name=${r%%:*}
    # shellcheck disable=SC2046
    preflight_step "$name" "$scratch/preflight-$name.log" 60 "$train" $(short_recipe "$name" 1) --limit-train 2048 \
      --out "$scratch/preflight-$name" --overwrite || rc=1
  done
  return $rc
}

preflight
preflight_verdict gpu-learn-check $?

table=$scratch/table.jsonl
: > "$table"
for r in $rows; do
  name=${r%%:*} epochs=${r##*:}
  left=$(budget 100000)
  [ "$left" -lt 60 ] && { echo "== $name: skipped, $left s left before the deadline"; continue; }
  echo "== $name, $epochs epochs: cnnzoo-train (up to $(( left / 2 )) s)"
  # shellcheck disable=SC2046
  timeout $(( left / 2 )) "$train" $(short_recipe "$name" "$epochs") --out "$scratch/cnnzoo-$name" --overwrite \
    > "$scratch/cnnzoo-$name.log" 2>&1 || echo "gpu-learn-check: cnnzoo-train $name ended with rc $?"
  tail -2 "$scratch/cnnzoo-$name.log"
  peer="{}"
  if [ "${SKIP_PEER:-0}" != 1 ]; then
    mix=0; [ "$name" = SE-WideResNet_2 ] && mix=0.2
    echo "== $name, $epochs epochs: PyTorch (up to $(budget 100000) s)"
    peer=$(timeout "$(budget 100000)" python3 "$carry/peers/torch_train_peer.py" --zoo "$carry/peers" --model "$name" \
             --data "$data" --epochs "$epochs" --batch 512 --lr 0.4 --precision bf16 --label-smoothing 0.1 \
             --mixup-alpha "$mix" 2> "$scratch/torch-$name.err" | tail -1)
    [ -n "$peer" ] || { peer="{}"; tail -3 "$scratch/torch-$name.err"; }
    echo "  $peer"
  fi
  python3 - "$scratch/cnnzoo-$name/report.json" "$name" "$epochs" "$peer" >> "$table" <<'PY'
import json, sys
path, name, epochs, peer = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
try:
    c = json.load(open(path))
    ours = {"acc": c["test_accuracy"], "s": c["step_seconds"]}  # on the held-out split here
except Exception:
    ours = {"acc": None, "s": None}
print(json.dumps({"row": name, "epochs": epochs, "cnnzoo_acc": ours["acc"], "cnnzoo_s": ours["s"],
                  "torch_acc": peer.get("val_acc"), "torch_s": peer.get("train_seconds")}))
PY
done

python3 - "$table" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
f = lambda v, spec: format(v, spec) if isinstance(v, (int, float)) else "-"
print("\n== short runs on real data (CIFAR-10 40k/10k, bf16, batch 512, one-cycle to 0.4; held-out accuracy; seconds of training steps)")
print("| row | epochs | cnnzoo accuracy | cnnzoo s | PyTorch accuracy | PyTorch s |")
print("|---|---:|---:|---:|---:|---:|")
for r in rows:
    print(f"| {r['row']} | {r['epochs']} | {f(r['cnnzoo_acc'], '.4f')} | {f(r['cnnzoo_s'], '.1f')} | "
          f"{f(r['torch_acc'], '.4f')} | {f(r['torch_s'], '.1f')} |")
PY
