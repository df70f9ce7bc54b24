"""The loop the parity and ONNX checks share: one row per model, one model's error reported while
the others still run, each row printed and appended to a JSON-lines file."""
import json


def run_each(models, check, describe, json_path=None):
    """check(name) -> row (a dict with a "failed" list); describe(row) -> its line. Returns 0 when
    every model passed, else 1."""
    failed = 0
    for name in models:
        try:
            row = check(name)
        except Exception as e:  # noqa: BLE001 - any failure of one model is that model's result
            print(f"{name}: ERROR {type(e).__name__}: {e}")
            failed += 1
            continue
        print(describe(row))
        failed += bool(row["failed"])
        if json_path:
            with open(json_path, "a") as f:
                f.write(json.dumps(row) + "\n")
    return 1 if failed else 0
