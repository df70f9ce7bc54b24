#!/usr/bin/env bash
# scripts/get-cifar10.sh as the quickstart runs it: data already there is left alone; an archive of
# image files ($CNNZOO_CIFAR10_JPEG) becomes the official binary format, which a trainer trains on.
# Exit 77 (skipped) without a python3 that has Pillow.
set -euo pipefail
repo=$1 trainer=$2   # the test trainer (cnnzoo-train with the tiny network)
py=$(command -v /usr/bin/python3 || command -v python3)
"$py" -c "import PIL" 2>/dev/null || { echo "no python3 with Pillow: skipped"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$py" - "$tmp" <<'PY'
import io, sys, tarfile
from PIL import Image
out = sys.argv[1]
with tarfile.open(f"{out}/images.tar", "w") as tf:
    for i in range(12):
        cls = ["cat", "dog", "ship"][i % 3]
        buf = io.BytesIO()
        Image.new("RGB", (32, 32), (i * 20, 100, 200 - i * 10)).save(buf, format="PNG")
        info = tarfile.TarInfo(f"cifar/train/{cls}/{i:04d}.png")
        info.size = len(buf.getvalue())
        tf.addfile(info, io.BytesIO(buf.getvalue()))
PY
PATH=$(dirname "$py"):$PATH CNNZOO_CIFAR10_JPEG="$tmp/images.tar" "$repo/scripts/get-cifar10.sh" "$tmp/data"
for b in 1 2 3 4 5; do test -s "$tmp/data/data_batch_$b.bin"; done
test "$(cat "$tmp"/data/data_batch_*.bin | wc -c)" -eq $((12 * 3073))
log=$("$trainer" --model TestTinyNet --data "$tmp/data" --out "$tmp/run" --device cpu --threads 1 --epochs 1 --batch-size 4)
grep -q "12 training images" <<<"$log"
# Present: nothing to do, nothing rewritten.
before=$(stat -c %Y "$tmp/data/data_batch_1.bin")
CNNZOO_CIFAR10_JPEG=/nonexistent "$repo/scripts/get-cifar10.sh" "$tmp/data"
test "$(stat -c %Y "$tmp/data/data_batch_1.bin")" = "$before"
echo "get-cifar10: converted and found"
