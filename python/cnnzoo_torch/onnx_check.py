"""Every zoo model exported to ONNX, checked by the onnx package and run by ONNX Runtime.

    python3 -m cnnzoo_torch.onnx_check --dump-tool parity_dump --export cnnzoo-export \\
        --ort-modules DIR [--json FILE] NAME...

For each model: parity_dump writes weights (every tensor away from its initial value) and cnnzoo's
inference logits on a batch (tests/parity/parity_dump.cpp); cnnzoo-export writes the ONNX file;
onnx.checker (full check) and strict shape inference must accept it; ONNX Runtime
(onnxruntime-node, from --ort-modules, run by tests/onnx/run_onnxruntime.js) computes the logits,
which must match cnnzoo's within the float32 bound of cnnzoo_torch.tolerance. Needs numpy and the
onnx package, not torch. Exit status: 0 all pass, 1 a failure, 77 a tool is missing.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

try:
    import numpy as np
    import onnx
except ImportError as e:
    print(f"onnx_check: {e.name} cannot be imported here; skipped (scripts/install-deps.sh installs python3-onnx)")
    sys.exit(77)

from .each_model import run_each
from .safetensors import read_numpy
from .tolerance import tolerance

RUNNER = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "onnx", "run_onnxruntime.js")


def check_model(name, args, out_dir):
    work = os.path.join(out_dir, name)
    os.makedirs(work, exist_ok=True)
    started = time.time()
    subprocess.run([args.dump_tool, name, work, "--batch", str(args.batch), "--no-fp64"], check=True,
                   stdout=subprocess.DEVNULL)
    weights, _ = read_numpy(os.path.join(work, "weights.safetensors"))
    ref, _ = read_numpy(os.path.join(work, "reference.safetensors"))
    model_path = os.path.join(work, "model.onnx")
    subprocess.run([args.export, "--model", name, "--weights", os.path.join(work, "weights.safetensors"),
                    "--onnx", model_path], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # By path, so that a model whose weights are stored beside it (over 1 GiB) is checked whole.
    onnx.checker.check_model(model_path, full_check=True)
    onnx.shape_inference.infer_shapes_path(model_path, os.path.join(work, "inferred.onnx"), check_type=True,
                                           strict_mode=True)
    os.remove(os.path.join(work, "inferred.onnx"))
    model = onnx.load(model_path, load_external_data=False)
    meta = {p.key: p.value for p in model.metadata_props}
    nodes = len(model.graph.node)
    del model

    x = ref["input"].astype("<f4")
    x.tofile(os.path.join(work, "input.f32"))
    env = dict(os.environ, NODE_PATH=args.ort_modules)
    subprocess.run(["node", RUNNER, model_path, os.path.join(work, "input.f32"), str(x.shape[0]),
                    os.path.join(work, "logits.f32")], check=True, env=env, stdout=subprocess.DEVNULL)
    logits = np.fromfile(os.path.join(work, "logits.f32"), dtype="<f4").reshape(ref["logits_inference"].shape)
    expected = ref["logits_inference"].astype(np.float64)
    diff = float(np.abs(logits - expected).max() / np.abs(expected).max())
    tol = tolerance([(k, v.shape) for k, v in weights.items()])["logits"]
    row = {"model": name, "nodes": nodes, "onnx_bytes": os.path.getsize(model_path), "logits": diff,
           "tolerance": tol, "metadata": sorted(meta), "seconds": round(time.time() - started, 1)}
    row["failed"] = [] if diff <= tol else ["logits"]
    for key in ("cnnzoo.mean_255", "cnnzoo.std_255", "cnnzoo.classes"):
        if key not in meta:
            row["failed"].append("metadata " + key)
    return row


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dump-tool", required=True)
    ap.add_argument("--export", required=True, help="the cnnzoo-export program")
    ap.add_argument("--ort-modules", required=True, help="a node_modules folder holding onnxruntime-node")
    ap.add_argument("--json", help="append one JSON line per model to this file")
    ap.add_argument("--batch", type=int, default=int(os.environ.get("CNNZOO_PARITY_BATCH", "2")),
                    help="images per batch (default: $CNNZOO_PARITY_BATCH, else 2)")
    ap.add_argument("--keep", help="keep the files of each model under this folder")
    ap.add_argument("models", nargs="+")
    args = ap.parse_args(argv)
    if not shutil.which("node") or not os.path.isdir(os.path.join(args.ort_modules, "onnxruntime-node")):
        print(f"onnx_check: node or {args.ort_modules}/onnxruntime-node is missing; skipped "
              "(scripts/install-deps.sh installs them)")
        return 77
    def describe(row):
        verdict = "ok" if not row["failed"] else "FAILED " + ",".join(row["failed"])
        return (f"{row['model']}: ONNX Runtime logits {row['logits']:.1e} (tol {row['tolerance']:.0e}), {row['nodes']} "
                f"nodes, checker and strict shape inference pass; {row['seconds']} s: {verdict}")

    with tempfile.TemporaryDirectory(prefix="cnnzoo-onnx-") as tmp:
        return run_each(args.models, lambda name: check_model(name, args, args.keep or tmp), describe, args.json)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
