#!/usr/bin/env bash
# Downloads the official CIFAR-10 binary version, checks it, and extracts it into a directory
# the cnnzoo reader understands (default: data/cifar10). cnnzoo never downloads anything by
# itself: run this only when you want the data fetched from the internet.
#
#   scripts/download-cifar10.sh [DEST]        # DEST defaults to data/cifar10
#
# Offline? Convert the JPEG copy instead:
#   python3 ../shared/cifar10/make_cifar10_bin.py ../shared/cifar10/cifar10-train-jpeg.tar.xz --out data/cifar10
set -euo pipefail

URL="https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
MD5="c32a1d4ab5d03f1284b67883e8d87530"
DEST="${1:-data/cifar10}"

die() { echo "download-cifar10: $*" >&2; exit 1; }

if [[ -f "$DEST/data_batch_1.bin" && -f "$DEST/data_batch_5.bin" && -f "$DEST/test_batch.bin" ]]; then
  echo "CIFAR-10 is already in $DEST; nothing to do."
  exit 0
fi

mkdir -p "$DEST"
work="$(mktemp -d "${TMPDIR:-/tmp}/cifar10.XXXXXX")"
trap 'rm -rf "$work"' EXIT
tarball="$work/cifar-10-binary.tar.gz"

echo "Downloading $URL (about 163 MB) ..."
if command -v curl >/dev/null 2>&1; then
  curl --fail --location --retry 3 --output "$tarball" "$URL" || die "curl could not download $URL (are you online?)"
elif command -v wget >/dev/null 2>&1; then
  wget --tries=3 --output-document="$tarball" "$URL" || die "wget could not download $URL (are you online?)"
else
  die "neither curl nor wget is installed; install one, or download $URL by hand and extract it into $DEST"
fi

if command -v md5sum >/dev/null 2>&1; then
  got="$(md5sum "$tarball" | cut -d' ' -f1)"
elif command -v md5 >/dev/null 2>&1; then
  got="$(md5 -q "$tarball")"
else
  die "no md5sum or md5 tool to verify the download"
fi
[[ "$got" == "$MD5" ]] || die "MD5 mismatch: expected $MD5, got $got. The download is corrupt or incomplete; run this script again."

tar -xzf "$tarball" -C "$work"
src="$work/cifar-10-batches-bin"
[[ -f "$src/data_batch_1.bin" ]] || die "the archive does not contain cifar-10-batches-bin/data_batch_1.bin"
for f in data_batch_1.bin data_batch_2.bin data_batch_3.bin data_batch_4.bin data_batch_5.bin test_batch.bin batches.meta.txt; do
  mv -f "$src/$f" "$DEST/$f"
done
echo "CIFAR-10 is ready in $DEST (50,000 training and 10,000 test images)."
