#!/usr/bin/env bash
# Time to accuracy on the CPU, on real data, beside PyTorch: a light row with its default recipe
# (cnnzoo-train --model MODEL), trained for the same wall-clock budget by cnnzoo-train and by
# PyTorch (one after the other, each with the machine to itself), on the JPEG copy of CIFAR-10
# (45,000 images; the last 5,000 held out for validation). The PyTorch side takes its batch,
# learning rate, initializer and weight decay from cnnzoo's report.json. Prints validation accuracy
# against time for both, and the two at the budget.
#
#   scripts/time-to-accuracy.sh [MINUTES [EXTRA cnnzoo-train FLAGS...]]   (default 20 minutes each)
#
#   MODEL      InceptionV1 (default) or SqueezeNet (the rows scripts/torch_time_to_accuracy.py has)
#   THREADS    CPU threads for each side (default 2)
#   BUILD_DIR  where cnnzoo-train is built (default build; built if missing)
#   DATA       CIFAR-10 in the official binary format (default data/cifar10; made from
#              ../shared/cifar10/cifar10-train-jpeg.tar.xz if missing)
#   OUT        results (default runs/time-to-accuracy/MODEL): cnnzoo/ (the trainer's files), pytorch.jsonl
#   PYTHON     a python3 with torch and PIL (default /usr/bin/python3: apt-get install python3-torch python3-pil)
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-20}
shift || true
model=${MODEL:-InceptionV1}
threads=${THREADS:-2}
build=${BUILD_DIR:-build}
data=${DATA:-data/cifar10}
out=${OUT:-runs/time-to-accuracy/$model}
python=${PYTHON:-/usr/bin/python3}
tarball=../shared/cifar10/cifar10-train-jpeg.tar.xz

if ! "$python" -c 'import torch, PIL' 2>/dev/null; then
  echo "time-to-accuracy: $python cannot import torch and PIL; on Debian: apt-get install python3-torch python3-pil" >&2
  exit 2
fi
if [[ ! -f $data/data_batch_1.bin ]]; then
  [[ -f $tarball ]] || { echo "time-to-accuracy: no $data/data_batch_1.bin and no $tarball to make it from" >&2; exit 2; }
  "$python" ../shared/cifar10/make_cifar10_bin.py "$tarball" --out "$data"
fi
if [[ ! -x $build/apps/cnnzoo-train ]]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" -j "$(nproc)" --target cnnzoo-train
fi
rm -rf "$out"
mkdir -p "$out"

echo "== cnnzoo: $model, $minutes minutes, $threads threads $*"
"$build/apps/cnnzoo-train" --model "$model" --device cpu --threads "$threads" --data "$data" --val-split 5000 \
  --time-budget "$minutes" --epochs 10000 --checkpoint-every 10000 --seed 1 --out "$out/cnnzoo" "$@" | tee "$out/cnnzoo.log"
echo "== PyTorch: $model, $minutes minutes, $threads threads, the recipe of $out/cnnzoo/report.json"
"$python" scripts/torch_time_to_accuracy.py "$data" "$out/pytorch.jsonl" --model "$model" --minutes "$minutes" \
  --threads "$threads" --seed 1 --recipe-from "$out/cnnzoo/report.json" | tee "$out/pytorch.log"

"$python" - "$out" "$minutes" <<'EOF'
import json, os, sys
import torch
out, minutes = sys.argv[1], float(sys.argv[2])
report = json.load(open(os.path.join(out, "cnnzoo", "report.json")))
ours = [json.loads(l) for l in open(os.path.join(out, "cnnzoo", "metrics.jsonl")) if l.strip()]
theirs = [json.loads(l) for l in open(os.path.join(out, "pytorch.jsonl")) if l.strip()]
c = report["config"]
print(f"\n{report['model']}, batch {c['batch_size']}, lr {c['lr']:g}, {c['init']} kernels: validation accuracy against "
      f"wall time ({minutes:g}-minute budget each, 45,000 training images, 5,000 held out)")
print("| framework | evaluation | seconds | images trained | validation accuracy |")
print("|---|---:|---:|---:|---:|")
for r in ours:
    print(f"| cnnzoo | {r['epoch']} | {r['wall_seconds']:.0f} | {r['step'] * c['batch_size']} | {100 * r['val_acc']:.2f}% |")
for r in theirs:
    print(f"| PyTorch {torch.__version__} | {r['epoch']} | {r['seconds']:.0f} | {r['images']} | {100 * r['val_acc']:.2f}% |")
a, b = ours[-1]["val_acc"], theirs[-1]["val_acc"]
print(f"\nAt the budget: cnnzoo {100 * a:.2f}%, PyTorch {100 * b:.2f}% "
      f"({'cnnzoo ahead' if a >= b else 'PyTorch ahead'} by {100 * abs(a - b):.2f} points)")
EOF
