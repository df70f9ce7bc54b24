#!/usr/bin/env python3
"""Writes CIFAR-10 in its official binary format from an archive of image files.

    scripts/cifar10_from_images.py ARCHIVE.tar[.xz|.gz] --out data/cifar10

ARCHIVE holds .../SPLIT/CLASS/NAME.{jpg,jpeg,png} with SPLIT `train` or `test` and CLASS one of
the ten CIFAR-10 class names. Writes data_batch_1.bin .. data_batch_5.bin (the training images,
shuffled with a fixed seed, in five near-equal parts), test_batch.bin when the archive has a test
split, and batches.meta.txt. Each record: 1 label byte, then the R, G and B planes of 32x32.
Needs Pillow (python3-pil). scripts/quickstart.sh runs it where $CNNZOO_CIFAR10_JPEG names such
an archive.
"""
import argparse
import io
import os
import random
import sys
import tarfile

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def record(data, label):
    from PIL import Image
    img = Image.open(io.BytesIO(data)).convert("RGB")
    if img.size != (32, 32):
        img = img.resize((32, 32), Image.BILINEAR)
    r, g, b = img.split()
    return bytes([label]) + r.tobytes() + g.tobytes() + b.tobytes()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("archive")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    splits = {"train": [], "test": []}
    with tarfile.open(args.archive) as tf:
        for m in tf:
            parts = m.name.split("/")
            if not m.isfile() or len(parts) < 3 or os.path.splitext(parts[-1])[1].lower() not in (".jpg", ".jpeg", ".png"):
                continue
            split, cls = parts[-3], parts[-2]
            if split in splits and cls in CLASSES:
                splits[split].append((parts[-2] + "/" + parts[-1], record(tf.extractfile(m).read(), CLASSES.index(cls))))
    train = [r for _, r in sorted(splits["train"])]
    if not train:
        sys.exit(f"cifar10_from_images: {args.archive} holds no train/CLASS/*.jpg|png images")
    random.Random(20261129).shuffle(train)
    os.makedirs(args.out, exist_ok=True)
    if len(train) < 5:
        sys.exit(f"cifar10_from_images: {len(train)} training images cannot fill five files")
    bounds = [b * len(train) // 5 for b in range(6)]  # five near-equal parts, none empty
    for b in range(5):
        with open(os.path.join(args.out, f"data_batch_{b + 1}.bin"), "wb") as f:
            f.write(b"".join(train[bounds[b]:bounds[b + 1]]))
    if splits["test"]:
        with open(os.path.join(args.out, "test_batch.bin"), "wb") as f:
            f.write(b"".join(r for _, r in sorted(splits["test"])))
    with open(os.path.join(args.out, "batches.meta.txt"), "w") as f:
        f.write("\n".join(CLASSES) + "\n")
    print(f"cifar10_from_images: {len(train)} training and {len(splits['test'])} test images in {args.out}")


if __name__ == "__main__":
    main()
