#!/usr/bin/env python3
"""The tables of scripts/gpu-check.sh, each printed as soon as its part has finished.

  gpu_tables.py tests DIR        GPU tests: exit code, seconds, Catch2's summary (DIR/tests.tsv)
  gpu_tables.py parity DIR       the parity checks closest to their tolerance (DIR/parity.tsv)
  gpu_tables.py throughput DIR   cnnzoo's training-step images/s beside PyTorch's, measured in the
                                 same call (DIR/cnnzoo.json, DIR/torch_*.json), with the math mode
                                 each side ran

Standard library only: it runs wherever python3 does.
"""
import glob
import json
import os
import sys

# The rows of the throughput table: (model, batch, precision), and the targets of the GPU issue.
ROWS = [("ResNet18", 128, "bf16"), ("ResNet18", 512, "bf16"), ("WideResNet", 512, "bf16"),
        ("ResNet18", 128, "fp32"), ("ResNet18", 128, "tf32")]
TARGETS = {("ResNet18", 128, "bf16"): 3.0, ("ResNet18", 512, "bf16"): 1.5, ("WideResNet", 512, "bf16"): 1.25}


def tests(out):
    path = os.path.join(out, "tests.tsv")
    if not os.path.exists(path):
        return
    print("\n== GPU tests (rc 0 passed, 77 skipped, 124 timed out)")
    print(f"{'test':28} {'rc':>3} {'s':>5}  summary")
    for line in open(path):
        name, rc, secs, summary = (line.rstrip("\n").split("\t") + [""] * 4)[:4]
        print(f"{name:28} {rc:>3} {secs:>5}  {summary}")


def parity(out):
    path = os.path.join(out, "parity.tsv")
    rows = []
    if os.path.exists(path):
        for line in open(path):
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 4:
                try:
                    rows.append((float(parts[2]) / float(parts[3]), parts))
                except (ValueError, ZeroDivisionError):
                    pass
    if not rows:
        return
    rows.sort(key=lambda r: -r[0])
    bad = sum(1 for r in rows if r[0] > 1)
    print(f"\n== parity: {len(rows)} checked errors, {bad} over tolerance; the 15 closest to their tolerance")
    print(f"{'error/tol':>9}  {'error':>9}  {'tol':>9}  check")
    for ratio, (case, what, err, tol) in rows[:15]:
        print(f"{ratio:9.3f}  {err:>9}  {tol:>9}  {case[:60]} :: {what[:60]}")


def _load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def throughput(out):
    ours, labels = {}, {}
    for b in (_load(os.path.join(out, "cnnzoo.json")) or {}).get("benchmarks", []):
        if "img_per_s" in b and not b.get("error_occurred"):
            model, prec, mode = (b["name"].split("/") + ["", "", ""])[:3]
            ours[(model, int(b["batch"]), prec, mode)] = b["img_per_s"]
            if b.get("label"):
                labels[(model, int(b["batch"]), prec)] = b["label"].split(";")[0].strip()
    theirs, peer_math = {}, {}
    for path in sorted(glob.glob(os.path.join(out, "torch_*.json"))):
        for r in _load(path) or []:
            if "img_per_s" not in r:
                continue
            prec = r["precision"]
            if prec == "fp32" and r.get("cudnn_tf32"):
                prec = "tf32"
            key = (r["model"], int(r["batch"]), prec)
            theirs[key] = r["img_per_s"]
            peer_math[key] = (f"cudnn tf32 {'on' if r.get('cudnn_tf32') else 'off'}, matmul tf32 "
                              f"{'on' if r.get('matmul_tf32') else 'off'}"
                              + (", autocast bf16, channels_last" if r["precision"] == "bf16" else ""))
    if not ours and not theirs:
        return
    print("\n== training-step throughput, images/s (same card, same call); ratio = cnnzoo graph / PyTorch eager")
    print(f"{'model':11} {'batch':>5} {'prec':>5} {'graph':>9} {'eager':>9} {'pytorch':>9} {'ratio':>6} {'target':>7}")
    for key in ROWS:
        g, e, p = ours.get(key + ("graph",)), ours.get(key + ("eager",)), theirs.get(key)
        ratio = f"{g / p:6.2f}" if g and p else "     -"
        t = TARGETS.get(key)
        print(f"{key[0]:11} {key[1]:>5} {key[2]:>5} {g or 0:9.0f} {e or 0:9.0f} {p or 0:9.0f} {ratio} "
              f"{('>=%.2f' % t) if t else '':>7}")
    print("math modes (cnnzoo | PyTorch):")
    for key in ROWS:
        if key in labels or key in peer_math:
            print(f"  {key[0]} {key[1]} {key[2]}: {labels.get(key, '-')} | {peer_math.get(key, '-')}")
    print("(cnnzoo NCHW; PyTorch channels_last for bf16)")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("tests", "parity", "throughput"):
        sys.exit(__doc__)
    {"tests": tests, "parity": parity, "throughput": throughput}[sys.argv[1]](sys.argv[2])
