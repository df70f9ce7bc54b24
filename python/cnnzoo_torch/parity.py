"""Every zoo model against its PyTorch twin, on the same weights and the same batch.

    python3 -m cnnzoo_torch.parity --dump-tool PATH/parity_dump [--out DIR] [--json FILE] NAME...

For each model: parity_dump writes cnnzoo's weights and what cnnzoo computes (tests/parity/
parity_dump.cpp); the twin loads the weights through the name mapping and computes the same:
logits in inference mode, then in training mode (dropout and drop-path off) with the mean
cross-entropy loss and the gradient of every parameter, and the BatchNorm statistics after that
pass. Differences are relative to the largest magnitude of cnnzoo's tensor (max|a - b| / max|b|),
held to tolerances derived from the arithmetic's unit roundoff (`tolerance` below), twice:

- in float32 on both sides: logits, loss and statistics, tensor by tensor. Float32 gradients are
  reported (relative L2 distance over every parameter, and the worst tensor) but not held to a
  rounding bound, because none exists: a ReLU input that lies within rounding of 0 (in ResNet18
  at batch 4, one value of 65,536 in one layer, |y| = 5.6e-7) switches a gradient path on in one
  implementation and off in the other, which moves that channel's gradient by its full size
  (4.5e-2 relative) and everything upstream of it a little.
- in float64 on both sides (cnnzoo's exec::eigen<double>, the twin in double), where rounding is
  2^29 times finer and no such value occurs: every tensor, gradients included, to its own bound.
  This is the check of semantics; the float32 one is the check of what users run.

Then the round trip: the twin's state_dict is written back under cnnzoo's names, cnnzoo loads and
rewrites it, and every tensor must come back bit for bit.

Exit status: 0 all pass, 1 a difference beyond tolerance (or an error), 77 torch is missing.
"""
import argparse
import math
import os
import subprocess
import sys
import tempfile
import time

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # the suite skips (CTest SKIP_RETURN_CODE 77) where PyTorch is absent
    print("parity: PyTorch cannot be imported here; skipped (scripts/install-deps.sh installs python3-torch)")
    sys.exit(77)

from . import mapping, safetensors, twins
from .each_model import run_each
from .tolerance import EPS32, EPS64, tolerance
from .twins.common import deterministic

# Rows compared on more images than asked for, and why: the CTest runs use 2 images, and VGG16's
# BatchNorms after its hidden dense layers normalise one value per image and channel, which over
# 2 images is ill-conditioned in float32 (training-mode logits 1e-2 apart from the twin's at 2
# images, 1e-5 at 4).
MIN_BATCH = {"VGG16": 4}

# Models compared in float32 only, and why.
FLOAT32_ONLY = {"SENet154": "its double-precision network alone needs 18 GB (568 M parameters, their gradients, "
                            "decay mask and momentum at 8 bytes each); its blocks are SE-ResNeXt50's, checked in double"}


def rel_diff(ours, ref, scale_from=None):
    """max|ours - ref| / max|ref| (or / max|scale_from| where that is larger)."""
    ref = ref.double()
    scale = ref.abs().max().item()
    if scale_from is not None:
        scale = max(scale, scale_from.double().abs().max().item())
    diff = (ours.double() - ref).abs().max().item()
    return diff / scale if scale > 0 else diff


def grad_scale_tensor(name, ref):
    """A shift's gradient (a bias, a BatchNorm beta) sums the same output gradients its layer's
    scale's gradient sums (a kernel's, a gamma's), times inputs of order one. Where a linear map
    and a training-mode BatchNorm follow, it is zero by construction (the batch mean is
    subtracted) and only rounding of that sum remains in either implementation; so a shift's
    difference is measured against the larger of its own gradient and its layer's scale's."""
    for shift, scale in (("/bias", "/weight"), ("/beta", "/gamma")):
        if name.endswith(shift):
            return ref.get("grad/" + name[: -len(shift)] + scale)
    return None


def compare_model(name, dump_tool, out_dir, batch, fp64=True):
    workdir = os.path.join(out_dir, name)
    os.makedirs(workdir, exist_ok=True)
    started = time.time()
    for stale in ("reference_fp64.safetensors",):
        if os.path.exists(os.path.join(workdir, stale)):
            os.remove(os.path.join(workdir, stale))
    subprocess.run([dump_tool, name, workdir, "--batch", str(batch)] + ([] if fp64 else ["--no-fp64"]),
                   check=True, stdout=subprocess.DEVNULL)
    cnnzoo_seconds = time.time() - started
    weights, meta = safetensors.read(os.path.join(workdir, "weights.safetensors"))
    ref, _ = safetensors.read(os.path.join(workdir, "reference.safetensors"))
    entries = [(k, tuple(v.shape)) for k, v in weights.items()]

    model = deterministic(twins.build(name))
    pairs = mapping.pair(entries, model)
    load(model, weights, pairs)

    row = {"model": name, "batch": int(ref["input"].shape[0]), "tensors": len(pairs)}
    row["fp32"] = run_and_compare(model, pairs, ref, torch.float32, tolerance(entries))
    ref64_path = os.path.join(workdir, "reference_fp64.safetensors")
    if os.path.exists(ref64_path):
        ref64, _ = safetensors.read(ref64_path)
        model.double()
        load(model, weights, pairs)  # the float32 pass moved the running statistics
        row["fp64"] = run_and_compare(model, pairs, ref64, torch.float64, tolerance(entries, EPS64, stored=EPS32))
        model.float()
    row["roundtrip_bit_exact"] = roundtrip(name, dump_tool, workdir, weights, pairs, model)
    row["seconds"] = round(time.time() - started, 1)
    row["cnnzoo_seconds"] = round(cnnzoo_seconds, 1)
    row["failed"] = [f"{p}:{k}" for p in ("fp32", "fp64") if p in row for k in row[p]["failed"]]
    if not row["roundtrip_bit_exact"]:
        row["failed"].append("roundtrip")
    return row


def load(model, weights, pairs):
    state = model.state_dict()
    with torch.no_grad():
        for cz, tn in pairs:
            state[tn].copy_(weights[cz])


def run_and_compare(model, pairs, ref, dtype, tol):
    """The twin on ref's input in `dtype` (its weights already loaded), against ref."""
    x, labels = ref["input"].to(dtype), ref["labels"]
    out = {"tolerance": tol}
    model.eval()
    with torch.no_grad():
        out["logits_eval"] = rel_diff(model(x), ref["logits_eval"])
    model.train()
    model.zero_grad(set_to_none=True)
    logits = model(x)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    out["logits_train"] = rel_diff(logits.detach(), ref["logits_train"])
    out["loss"] = rel_diff(loss.detach().reshape(()), ref["loss"].reshape(()))
    params, buffers = dict(model.named_parameters()), dict(model.named_buffers())
    worst_grad, worst_state = (0.0, ""), (0.0, "")
    diff2 = norm2 = 0.0
    for cz, tn in pairs:
        if tn in params:
            g = params[tn].grad
            g = (g if g is not None else torch.zeros_like(params[tn])).double()
            r = ref["grad/" + cz].double()
            diff2 += float(((g - r) ** 2).sum())
            norm2 += float((r ** 2).sum())
            worst_grad = max(worst_grad, (rel_diff(g, r, grad_scale_tensor(cz, ref)), cz))
        else:
            worst_state = max(worst_state, (rel_diff(buffers[tn], ref["state_after/" + cz]), cz))
    out["grad_l2"] = math.sqrt(diff2 / norm2) if norm2 > 0 else math.sqrt(diff2)
    out["grad"], out["worst_grad"] = worst_grad
    out["state"], out["worst_state"] = worst_state
    # Gradients are held to a bound in float64 only (see the module's docstring).
    checks = [("logits_eval", "logits"), ("logits_train", "logits"), ("loss", "loss"), ("state", "state")]
    if dtype == torch.float64:
        checks.append(("grad", "grad"))
    out["failed"] = [k for k, t in checks if not out[k] <= tol[t]]
    return out


def roundtrip(name, dump_tool, workdir, weights, pairs, model):
    """cnnzoo's file -> the twin -> safetensors under cnnzoo's names -> cnnzoo -> safetensors:
    every tensor's bytes must equal the original's. The twin is loaded again first: the passes
    before moved its running statistics (and float32 holds the file's values exactly)."""
    load(model, weights, pairs)
    state = model.state_dict()
    back = {cz: state[tn] for cz, tn in pairs}
    from_torch = os.path.join(workdir, "from_torch.safetensors")
    again = os.path.join(workdir, "again.safetensors")
    safetensors.write(from_torch, back, {"model": name, "format": "cnnzoo"})
    subprocess.run([dump_tool, name, "--roundtrip", from_torch, again], check=True)
    final, _ = safetensors.read(again)
    return list(final) == list(weights) and all(
        torch.equal(final[k].view(torch.int32), weights[k].view(torch.int32)) for k in weights)


def summary(row):
    parts = [f"{row['model']}:"]
    for p in ("fp32", "fp64"):
        if p not in row:
            continue
        r, t = row[p], row[p]["tolerance"]
        g = f"grad L2 {r['grad_l2']:.1e}" if p == "fp32" else f"grad {r['grad']:.1e} (tol {t['grad']:.0e})"
        parts.append(f"{p} logits {max(r['logits_eval'], r['logits_train']):.1e} loss {r['loss']:.1e} "
                     f"(tol {t['logits']:.0e}), {g}, state {r['state']:.1e};")
    parts.append(f"round trip {'bit-exact' if row['roundtrip_bit_exact'] else 'DIFFERS'}; {row['seconds']} s:")
    parts.append("ok" if not row["failed"] else "FAILED " + ",".join(row["failed"]))
    return " ".join(parts)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dump-tool", required=True, help="the parity_dump program of a cnnzoo build")
    ap.add_argument("--out", help="where the dumps go (default: a temporary directory, removed)")
    ap.add_argument("--json", help="append one JSON line per model to this file")
    ap.add_argument("--batch", type=int, default=int(os.environ.get("CNNZOO_PARITY_BATCH", "2")),
                    help="images per batch (default: $CNNZOO_PARITY_BATCH, else 2)")
    ap.add_argument("--threads", type=int, default=1, help="PyTorch intra-op threads")
    ap.add_argument("--no-fp64", action="store_true", help="compare in float32 only")
    ap.add_argument("models", nargs="+")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    def check(name):
        fp64 = not args.no_fp64 and name not in FLOAT32_ONLY
        if not args.no_fp64 and name in FLOAT32_ONLY:
            print(f"{name}: float32 only: {FLOAT32_ONLY[name]}")
        return compare_model(name, args.dump_tool, args.out or tmp, max(args.batch, MIN_BATCH.get(name, 1)), fp64)

    with tempfile.TemporaryDirectory(prefix="cnnzoo-parity-") as tmp:
        return run_each(args.models, check, summary, args.json)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
