#!/usr/bin/env python3
"""The README's table of every model from a bench_zoo run saved as JSON.

    OMP_NUM_THREADS=2 build/benchmarks/bench_zoo --benchmark_out=zoo.json --benchmark_out_format=json
    scripts/zoo_bench_table.py zoo.json

One row per model, in the order bench_zoo ran them (the seed table's): parameters, forward GFLOPs
per image, the batch, training and inference images/s and the peak memory of each, or the reason a
pass was skipped.
"""
import json
import os
import sys


def table_counts():
    """Trainable parameters by model from zoo/models.tsv, for the rows whose passes were skipped."""
    counts = {}
    tsv = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "zoo", "models.tsv")
    with open(tsv) as f:
        lines = [l.rstrip("\n").split("\t") for l in f if l.strip() and not l.startswith("#")]
    header = lines[0]
    for fields in lines[1:]:
        counts[fields[0]] = int(fields[header.index("trainable")])
    return counts


def main(path):
    with open(path) as f:
        runs = json.load(f)["benchmarks"]
    counts = table_counts()
    rows = {}
    for r in runs:
        if r.get("run_type", "iteration") != "iteration":
            continue
        name = r.get("run_name", r["name"])
        parts = name.split("/")   # pass/model/batch:B[/real_time]
        if len(parts) < 3:
            continue
        pass_name, model, batch = parts[0], parts[1], parts[2].split(":")[-1]
        row = rows.setdefault(model, {"batch": batch})
        if "trainable" in r:
            row["trainable"] = int(r["trainable"])
            row["flops"] = float(r["flops"])
        if r.get("error_occurred"):
            message = r.get("error_message", "")
            row[pass_name] = "skipped: memory" if "GiB" in message else "skipped: time" if "predicted" in message else "failed"
        else:
            row[pass_name] = f"{r['img/s']:.1f}"
            row[pass_name + "_mib"] = f"{r['peak_MiB']:.0f}"
    print("| model | trainable | GFLOPs/img | batch | train img/s | train peak MiB | predict img/s | predict peak MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for model, row in rows.items():
        trainable = f"{row.get('trainable', counts.get(model, 0)):,}"
        gflops = f"{row['flops'] / 1e9:.2f}" if "flops" in row else "-"
        print(f"| {model} | {trainable} | {gflops} | {row['batch']} | "
              f"{row.get('train', '-')} | {row.get('train_mib', '-')} | {row.get('predict', '-')} | "
              f"{row.get('predict_mib', '-')} |")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
