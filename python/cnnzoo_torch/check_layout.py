"""python3 -m cnnzoo_torch.check_layout SUMMARY_PROGRAM NAME...: pairs each twin's state_dict with
cnnzoo's tensor table (from `cnnzoo-summary NAME --tensors`) and prints the first difference."""
import subprocess
import sys

from . import mapping, twins


def main(argv):
    program, names = argv[1], argv[2:]
    bad = 0
    for name in names:
        text = subprocess.run([program, name, "--tensors"], check=True, capture_output=True, text=True).stdout
        try:
            pairs = mapping.pair(mapping.summary_entries(text), twins.build(name))
            print(f"{name}: {len(pairs)} tensors pair up")
        except (ValueError, KeyError) as e:
            print(f"{name}: {e}")
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
