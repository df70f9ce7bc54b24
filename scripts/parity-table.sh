#!/usr/bin/env bash
# Every zoo model against its PyTorch twin and through ONNX Runtime (CTest labels parity and onnx),
# then the table of largest relative differences into docs/PARITY.md.
#   scripts/parity-table.sh [BUILD_DIR]     (default: build, configured and built by scripts/test.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
# The table's batch: 4 images (the CTest runs of CI use 2, python/cnnzoo_torch's default).
export CNNZOO_PARITY_BATCH=${CNNZOO_PARITY_BATCH:-4}
export GLIBC_TUNABLES=${GLIBC_TUNABLES:-glibc.malloc.hugetlb=1}   # as scripts/test.sh: huge pages for big buffers
rm -f "$build/parity.jsonl" "$build/onnx.jsonl"
start=$(date +%s)
status=0
ctest --test-dir "$build" -L '^(parity|onnx)$' -j "${JOBS:-$(nproc)}" --output-on-failure || status=$?
seconds=$(( $(date +%s) - start ))
header="Measured $(date -u +%Y-%m-%d) on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), batch ${CNNZOO_PARITY_BATCH}, in ${seconds} s: largest difference relative to the largest magnitude of cnnzoo's tensor."
{
  echo "# Parity: cnnzoo against PyTorch and ONNX Runtime"
  echo
  echo "Produced by \`scripts/parity-table.sh\` (README: *Parity with PyTorch and ONNX Runtime* says what is"
  echo "compared and how the bounds are derived). fp64: cnnzoo's \`exec::eigen<double>\` against the twin in"
  echo "double, every tensor to its bound; fp32: logits, loss and statistics to their bound, gradients as"
  echo "the relative L2 distance over all parameters (reported, see README). ONNX Runtime: the exported"
  echo "file's logits against cnnzoo's inference logits (fp32 bound)."
  echo
  /usr/bin/python3 python/cnnzoo_torch/parity_table.py "$build/parity.jsonl" "$build/onnx.jsonl" "$header"
} > docs/PARITY.md
echo "parity-table: wrote docs/PARITY.md (${seconds} s)"
exit $status
