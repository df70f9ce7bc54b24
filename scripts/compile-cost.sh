#!/usr/bin/env bash
# The compile cost of one model program, cnnzoo beside dlib, measured in one run on this machine:
# WRN-28-10 bound to the CPU policy with one training step (benchmarks/compile_cost/), compiled
# at -O0, one compiler at a time, each REPEAT times (the median is printed). Reports seconds, peak
# memory and the longest mangled symbol of each object, and the ratios.
#
#   scripts/compile-cost.sh            # installs Debian's libdlib-dev first where it is missing
#   REPEAT=3 CXX=g++ scripts/compile-cost.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cxx=${CXX:-g++}
repeat=${REPEAT:-1}
if [ ! -f /usr/include/dlib/dnn.h ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get install -y -qq --no-install-recommends libdlib-dev >/dev/null
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# measure NAME COMMAND...: the median of REPEAT runs, "seconds kib longest_mangled longest_demangled".
measure() {
  local name=$1
  shift
  for i in $(seq "$repeat"); do
    /usr/bin/time -f "%e %M" -o "$tmp/$name.$i.time" "$@" -o "$tmp/$name.o"
  done
  local med=$(( (repeat + 1) / 2 ))
  local s kb
  s=$(cat "$tmp/$name".*.time | awk '{print $1}' | sort -n | sed -n "${med}p")
  kb=$(cat "$tmp/$name".*.time | awk '{print $2}' | sort -n | sed -n "${med}p")
  local mangled demangled
  mangled=$(nm "$tmp/$name.o" | awk '{ if (length($NF) > m) m = length($NF) } END { print m + 0 }')
  demangled=$(nm -C "$tmp/$name.o" | awk '{ $1 = ""; $2 = ""; if (length($0) - 2 > m) m = length($0) - 2 } END { print m + 0 }')
  echo "$s $kb $mangled $demangled"
}

echo "== compile cost of a WRN-28-10 training program at -O0 ($($cxx --version | head -1); $(nproc) cores; $(date -u +%F))"
read -r cs ck cl cd <<< "$(measure cnnzoo "$cxx" -std=c++20 -O0 -c -Iinclude -I/usr/include/eigen3 -fopenmp \
  benchmarks/compile_cost/wrn_cnnzoo.cpp)"
read -r ds dk dl dd <<< "$(measure dlib "$cxx" -std=c++17 -O0 -c benchmarks/compile_cost/wrn_dlib.cpp)"
awk -v cs="$cs" -v ck="$ck" -v cl="$cl" -v cd="$cd" -v ds="$ds" -v dk="$dk" -v dl="$dl" -v dd="$dd" 'BEGIN {
  printf "%-8s %9s %11s %26s\n", "", "seconds", "peak MiB", "longest symbol (characters)"
  printf "%-8s %9.1f %11.0f %14d mangled, %5d demangled\n", "cnnzoo", cs, ck / 1024, cl, cd
  printf "%-8s %9.1f %11.0f %14d mangled, %5d demangled\n", "dlib", ds, dk / 1024, dl, dd
  printf "cnnzoo / dlib: time %.2f, memory %.2f (target: at most 0.50 each; cnnzoo demangled symbol under 4,000)\n", cs / ds, ck / dk
}'
