#!/usr/bin/env bash
# Proves the packaging: installs cnnzoo to a temporary prefix and builds a small out-of-tree
# consumer that does find_package(cnnzoo) and includes <cnnzoo/models/resnet.hpp>; then builds the
# same consumer against the build tree's export. Usage: scripts/check-package.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
for how in "prefix:-DCMAKE_PREFIX_PATH=$tmp/prefix" "build-tree:-Dcnnzoo_DIR=$PWD/$build"; do
  name=${how%%:*}
  cmake -S tests/package -B "$tmp/consumer-$name" -DCMAKE_BUILD_TYPE=Release "${how#*:}" >/dev/null
  cmake --build "$tmp/consumer-$name" -j "$(nproc)" >/dev/null
  "$tmp/consumer-$name/consumer"
  echo "cnnzoo: find_package(cnnzoo) from the $name works"
done
