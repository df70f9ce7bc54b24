"""python3 -m cnnzoo_torch.parity_table PARITY.jsonl ONNX.jsonl [HEADER]: the parity table (markdown)
from the JSON lines of cnnzoo_torch.parity and cnnzoo_torch.onnx_check (the last line per model)."""
import json
import sys


def last_rows(path):
    rows = {}
    try:
        with open(path) as f:
            for line in f:
                row = json.loads(line)
                rows[row["model"]] = row
    except FileNotFoundError:
        pass
    return rows


def main(argv):
    parity, onnx = last_rows(argv[1]), last_rows(argv[2])
    header = argv[3] if len(argv) > 3 else ""
    order = [line.split("\t")[0] for line in open("zoo/models.tsv") if line.strip() and not line.startswith("#")][1:]
    out = [header, ""] if header else []
    out.append("| model | fp64 logits | fp64 loss | fp64 worst gradient | fp64 bound | fp32 logits | fp32 loss | "
               "fp32 bound | fp32 gradients (L2, reported) | ONNX Runtime logits | round trip | verdict |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    e = lambda v: f"{v:.1e}"
    for name in order:
        p, o = parity.get(name), onnx.get(name)
        cells = [name]
        if p and "fp64" in p:
            r = p["fp64"]
            cells += [e(max(r["logits_eval"], r["logits_train"])), e(r["loss"]), e(r["grad"]), e(r["tolerance"]["grad"])]
        else:
            cells += ["(fp32 only)" if p else "–", "", "", ""]
        if p:
            r = p["fp32"]
            cells += [e(max(r["logits_eval"], r["logits_train"])), e(r["loss"]), e(r["tolerance"]["logits"]), e(r["grad_l2"])]
        else:
            cells += ["–", "", "", ""]
        cells.append(e(o["logits"]) if o else "–")
        cells.append(("bit-exact" if p["roundtrip_bit_exact"] else "DIFFERS") if p else "–")
        failed = (p["failed"] if p else ["not run"]) + (o["failed"] if o else ["onnx not run"])
        cells.append("pass" if not failed else ", ".join(failed))
        out.append("| " + " | ".join(cells) + " |")
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv)
