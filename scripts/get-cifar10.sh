#!/usr/bin/env bash
# Makes sure CIFAR-10 is in DEST (default: $CNNZOO_DATA, else data/cifar10), as scripts/quickstart.sh
# needs it: nothing to do where it is there; else converted from the archive of image files named
# by $CNNZOO_CIFAR10_JPEG (no network needed); else downloaded by scripts/download-cifar10.sh,
# asking first when run on a terminal. Exit 0 with the data in place; 4 without it, saying why and
# what else to do.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${1:-${CNNZOO_DATA:-data/cifar10}}
if [[ -f "$dest/data_batch_1.bin" || -f "$dest/cifar-10-batches-bin/data_batch_1.bin" ]]; then
  exit 0
fi
jpeg=${CNNZOO_CIFAR10_JPEG:-}
if [ -n "$jpeg" ]; then
  if [ ! -f "$jpeg" ]; then
    echo "cnnzoo: CNNZOO_CIFAR10_JPEG names $jpeg, which is not a file" >&2
    exit 4
  fi
  echo "cnnzoo: converting the CIFAR-10 image archive $jpeg into $dest (no network needed)"
  python3 scripts/cifar10_from_images.py "$jpeg" --out "$dest" || exit 4
  exit 0
fi
answer=y
if [ -t 0 ] && [ -t 1 ]; then
  read -r -p "cnnzoo: CIFAR-10 is not in $dest. Download it (163 MB, from www.cs.toronto.edu, MD5-checked)? [Y/n] " answer
fi
case "${answer:-y}" in
  [Yy]*) ;;
  *) echo "cnnzoo: no data to train on. Put CIFAR-10 in $dest (README.md, 'Getting the data') and run again." >&2; exit 4 ;;
esac
if ! scripts/download-cifar10.sh "$dest"; then
  cat >&2 <<MSG
cnnzoo: the download did not work (is this machine offline?). Other ways to get the data:
  - on a machine with internet access: scripts/download-cifar10.sh, then copy $dest here
  - from an archive of CIFAR-10 image files (SPLIT/CLASS/NAME.jpg or .png):
      CNNZOO_CIFAR10_JPEG=/path/to/archive.tar.xz scripts/quickstart.sh
  - from any other copy: write the official binary format (README.md, 'Getting the data')
MSG
  exit 4
fi
