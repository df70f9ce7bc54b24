#!/usr/bin/env bash
# The CUDA policy's checks on a GPU: parity tests, GPU training tests, the throughput benchmark
# and the PyTorch peer in the same call, with the results as tables at the end.
#
#   scripts/gpu-check.sh prepare   on the CPU machine (nvcc, cuDNN, Catch2, Google Benchmark
#                                  installed): builds every tests/cuda binary and
#                                  benchmarks/cuda_throughput into carry/gpu/ (git-ignored), with
#                                  the Catch2 header and the libbenchmark they need there.
#   scripts/gpu-check.sh [run]     on the GPU machine, e.g. through the device tool with
#                                  carry ["carry/gpu"]: runs the carried binaries; without them it
#                                  first builds them there (nvcc + g++; Catch2 from CATCH_INCLUDE or
#                                  carry/gpu/include; the benchmark needs no Catch2).
#
# Order: the quick GPU tests, the cnnzoo benchmark, the PyTorch peer, then the full-size zoo
# tests (model_zoo_*) while DEADLINE allows, then the tables (tests, closest parity checks,
# images/s and ratios). Expect ~6-9 minutes of device time for everything.
#
# Environment: OUT (logs, parity.tsv, JSON; default build-gpu-out), JOBS, PEER (torch_throughput.py;
# default ../shared/peers or shared/peers), SKIP_TESTS=1, SKIP_BENCH=1, SKIP_PEER=1,
# TESTS="ops model_resnet ..." (only these test binaries), DEADLINE (seconds after which no further
# test starts, default 500, so that one 600 s device call ends with the tables), TEST_TIMEOUT.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
mode=${1:-run}
carry=carry/gpu
jobs=${JOBS:-$(nproc)}

find_nvcc() {
  command -v nvcc 2>/dev/null || { [ -x /usr/local/cuda/bin/nvcc ] && echo /usr/local/cuda/bin/nvcc; } || true
}

# ---- prepare: build here, carry there -----------------------------------------------------------------
if [ "$mode" = prepare ]; then
  set -e
  start=$(date +%s)
  # The whole project is configured (other test folders refer to the examples); only the GPU
  # test targets are built.
  cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DCNNZOO_CUDA=ON -DCNNZOO_BUILD_TESTS=ON \
    -DCNNZOO_BUILD_EXAMPLES=ON >/dev/null
  cmake --build build-gpu --target cnnzoo-gpu-tests -j "${JOBS:-2}"
  rm -rf "$carry"
  mkdir -p "$carry/bin" "$carry/lib" "$carry/include/catch2"
  for t in build-gpu/tests/cuda/test_cuda_*; do
    [ -x "$t" ] && cp "$t" "$carry/bin/" && strip "$carry/bin/$(basename "$t")"
  done
  nvcc=$(find_nvcc)
  "$nvcc" -std=c++20 -O3 -arch=sm_90 -Iinclude benchmarks/cuda_throughput.cu -o "$carry/bin/cuda_throughput" \
    -lcudnn -lcublas -lbenchmark -lpthread
  strip "$carry/bin/cuda_throughput"
  # The GPU machine has no Catch2, and its Google Benchmark has another soname.
  cp /usr/include/catch2/catch.hpp "$carry/include/catch2/"
  # The peer scripts: ../shared does not travel to the GPU machine.
  mkdir -p "$carry/peers" && cp "${SHARED:-../shared}"/peers/*.py "$carry/peers/"
  for l in $(ldd "$carry/bin/cuda_throughput" | awk '/libbenchmark/ {print $3}'); do cp -L "$l" "$carry/lib/"; done
  git rev-parse HEAD > "$carry/COMMIT" 2>/dev/null || true
  echo "gpu-check prepare: $(du -sh "$carry" | cut -f1) in $carry, $(( $(date +%s) - start )) s:"
  ls -la "$carry/bin"
  exit 0
fi

# ---- run (the GPU machine) -----------------------------------------------------------------------------
out=${OUT:-build-gpu-out}
mkdir -p "$out"
out=$(cd "$out" && pwd)
export LD_LIBRARY_PATH="$root/$carry/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
bin="$root/$carry/bin"

echo "== gpu-check: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo 'nvidia-smi unavailable')"

build_here() {
  # Fallback when no binaries were carried: the same sources, compiled with plain commands.
  local nvcc cudnn_inc catch_inc obj
  nvcc=$(find_nvcc)
  [ -n "$nvcc" ] || { echo "gpu-check: no nvcc, cannot build"; return 1; }
  cudnn_inc=$(dirname "$(ls /usr/include/x86_64-linux-gnu/cudnn.h /usr/include/cudnn.h /usr/local/cuda/include/cudnn.h 2>/dev/null | head -1)")
  bin="$out/bin"
  obj="$out/obj"
  mkdir -p "$bin" "$obj"
  local flags=(-std=c++20 -O2 -Iinclude -I/usr/include/eigen3 -I/usr/local/cuda/include -I"$cudnn_inc")
  local libs=(-L/usr/local/cuda/lib64 -lcudart -lcudnn -lcublas -fopenmp -lpthread)
  echo "== building the benchmark here"
  "$nvcc" -std=c++20 -O3 -arch=sm_90 -Iinclude -I"$cudnn_inc" benchmarks/cuda_throughput.cu -o "$bin/cuda_throughput" \
    -lcudnn -lcublas -lbenchmark -lpthread &
  local bench_pid=$!
  catch_inc=${CATCH_INCLUDE:-}
  [ -z "$catch_inc" ] && [ -f "$carry/include/catch2/catch.hpp" ] && catch_inc="$carry/include"
  [ -z "$catch_inc" ] && [ -f /usr/include/catch2/catch.hpp ] && catch_inc=/usr/include
  if [ -z "$catch_inc" ]; then
    echo "gpu-check: no Catch2 header (set CATCH_INCLUDE or carry carry/gpu): tests not built"
  else
    echo "== building the GPU tests here (Catch2 from $catch_inc)"
    flags+=(-I"$catch_inc" -Itests)
    "$nvcc" -std=c++20 -O3 -arch=sm_90 -Iinclude -I"$cudnn_inc" -c tests/cuda/kernels.cu -o "$obj/kernels.o" &
    local kpid=$!
    printf '#define CATCH_CONFIG_MAIN\n#include <catch2/catch.hpp>\n' > "$obj/catch_main.cpp"
    ls tests/cuda/*.cpp | xargs -P "$jobs" -I{} sh -c 'g++ '"${flags[*]}"' -fopenmp -c {} -o '"$obj"'/$(basename {} .cpp).o'
    g++ "${flags[@]}" -c "$obj/catch_main.cpp" -o "$obj/catch_main.o"
    wait "$kpid"
    g++ "$obj/functors.o" "$obj/catch_main.o" -o "$bin/test_cuda_functors" "${libs[@]}"
    for o in "$obj"/*.o; do
      s=$(basename "$o" .o)
      case "$s" in functors|gpu_main|catch_main|kernels) continue ;; esac
      g++ "$o" "$obj/gpu_main.o" "$obj/kernels.o" -o "$bin/test_cuda_$s" "${libs[@]}"
    done
  fi
  wait "$bench_pid"
}

if [ ! -x "$bin/cuda_throughput" ]; then
  build_here || true
fi

# ---- tests ------------------------------------------------------------------------------------------------
# The device tool allows 600 s per command: the quick tests run first, then the throughput
# measurements, then the full-size zoo tests while the DEADLINE (seconds since start) allows.
started=$(date +%s)
deadline=${DEADLINE:-500}
: > "$out/tests.tsv"
: > "$out/parity.tsv"
run_test() {
  local t=$1 name s rc summary limit
  name=$(basename "$t")
  limit=$(( deadline - ($(date +%s) - started) ))
  [ "$limit" -gt "${TEST_TIMEOUT:-600}" ] && limit=${TEST_TIMEOUT:-600}
  if [ "$limit" -lt 20 ]; then
    printf '%s\t-\t0\tnot run: the %s s deadline was reached\n' "$name" "$deadline" >> "$out/tests.tsv"
    return
  fi
  s=$(date +%s)
  CNNZOO_PARITY_LOG="$out/parity.tsv" timeout "$limit" "$t" > "$out/$name.log" 2>&1
  rc=$?
  summary=$(grep -E "^(All tests passed|test cases:)" "$out/$name.log" | tail -1)
  [ $rc = 77 ] && summary=$(grep -m1 SKIP "$out/$name.log")
  [ $rc = 124 ] && summary="timed out after $limit s"
  printf '%s\t%s\t%s\t%s\n' "$name" "$rc" "$(( $(date +%s) - s ))" "$summary" >> "$out/tests.tsv"
  echo "-- $name: rc $rc, $(( $(date +%s) - s )) s: $summary"
  [ $rc != 0 ] && [ $rc != 77 ] && grep -E -B2 -A12 "FAILED|with expansion|error" "$out/$name.log" | head -60
}
wanted() {   # TESTS="ops model_resnet" runs only those
  [ -z "${TESTS:-}" ] && return 0
  case " $TESTS " in *" ${1#test_cuda_} "*) return 0 ;; esac
  return 1
}
if [ "${SKIP_TESTS:-0}" != 1 ]; then
  for t in "$bin"/test_cuda_*; do
    [ -x "$t" ] || continue
    case "$(basename "$t")" in test_cuda_model_zoo*) continue ;; esac
    wanted "$(basename "$t")" && run_test "$t"
  done
fi

# ---- throughput: cnnzoo, then the PyTorch peer, in the same call ---------------------------------------------------
if [ "${SKIP_BENCH:-0}" != 1 ] && [ -x "$bin/cuda_throughput" ]; then
  echo "== cnnzoo throughput"
  timeout 480 "$bin/cuda_throughput" --benchmark_format=json --benchmark_out="$out/cnnzoo.json" \
    --benchmark_out_format=json > "$out/cnnzoo_bench.log" 2>&1 || echo "gpu-check: benchmark failed (rc $?), see $out/cnnzoo_bench.log"
  tail -5 "$out/cnnzoo_bench.log"
fi
if [ "${SKIP_PEER:-0}" != 1 ]; then
  peer=${PEER:-}
  for p in "$carry/peers/torch_throughput.py" ../shared/peers/torch_throughput.py shared/peers/torch_throughput.py; do
    [ -z "$peer" ] && [ -f "$p" ] && peer=$p
  done
  if [ -n "$peer" ]; then
    echo "== PyTorch peer ($peer)"
    timeout 480 python3 "$peer" "$out/torch.json" > "$out/torch.log" 2>&1 || echo "gpu-check: peer failed (rc $?), see $out/torch.log"
  else
    echo "gpu-check: torch_throughput.py not found (set PEER)"
  fi
fi

if [ "${SKIP_TESTS:-0}" != 1 ]; then
  for t in "$bin"/test_cuda_model_zoo*; do
    [ -x "$t" ] && wanted "$(basename "$t")" && run_test "$t"
  done
fi

# ---- the tables, last ---------------------------------------------------------------------------------------------
python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
print("\n== GPU tests (rc 0 passed, 77 skipped)")
print(f"{'test':28} {'rc':>3} {'s':>5}  summary")
for line in open(os.path.join(out, "tests.tsv")):
    name, rc, secs, summary = (line.rstrip("\n").split("\t") + [""] * 4)[:4]
    print(f"{name:28} {rc:>3} {secs:>5}  {summary}")

rows = []
for line in open(os.path.join(out, "parity.tsv")):
    parts = line.rstrip("\n").split("\t")
    if len(parts) == 4:
        try: rows.append((float(parts[2]) / float(parts[3]), parts))
        except ValueError: pass
if rows:
    rows.sort(key=lambda r: -r[0])
    bad = sum(1 for r in rows if r[0] > 1)
    print(f"\n== parity: {len(rows)} checked errors, {bad} over tolerance; the 12 closest to their tolerance")
    print(f"{'error/tol':>9}  {'error':>9}  {'tol':>9}  check")
    for ratio, (case, what, err, tol) in rows[:12]:
        print(f"{ratio:9.3f}  {err:>9}  {tol:>9}  {case[:60]} :: {what[:50]}")

def load(p):
    try: return json.load(open(p))
    except Exception: return None
ours, labels = {}, {}
c = load(os.path.join(out, "cnnzoo.json"))
for b in (c or {}).get("benchmarks", []):
    if "img_per_s" in b and not b.get("error_occurred"):
        model, prec, mode = (b["name"].split("/") + ["", "", ""])[:3]
        ours[(model, int(b["batch"]), prec, mode)] = b["img_per_s"]
        if b.get("label"): labels[(model, int(b["batch"]), prec)] = b["label"].strip().replace("\n", "; ")
theirs = {}
for r in load(os.path.join(out, "torch.json")) or []:
    theirs[(r["model"], r["batch"], "bf16" if r["bf16"] else "fp32")] = r["img_per_s"]
print("\n== training-step throughput, images/s (same card, same call); ratio = cnnzoo graph / PyTorch eager")
print(f"{'model':16} {'batch':>5} {'prec':>5} {'graph':>9} {'eager':>9} {'pytorch':>9} {'ratio':>6} {'target':>6}")
targets = {("preact_resnet18", 128, "bf16"): 3.0, ("preact_resnet18", 512, "bf16"): 1.5, ("wrn28_10", 512, "bf16"): 1.25}
for key in [("preact_resnet18", 128, "bf16"), ("preact_resnet18", 512, "bf16"), ("wrn28_10", 512, "bf16"),
            ("preact_resnet18", 128, "fp32")]:
    g, e, b = ours.get(key + ("graph",)), ours.get(key + ("eager",)), theirs.get(key)
    ratio = f"{g / b:6.2f}" if g and b else "     -"
    t = targets.get(key)
    print(f"{key[0]:16} {key[1]:>5} {key[2]:>5} {g or 0:9.0f} {e or 0:9.0f} {b or 0:9.0f} {ratio} {('>=%.2f' % t) if t else '':>6}")
for key, label in labels.items():
    print(f"  {key[0]} {key[1]} {key[2]}: {label}")
print(f"\n(logs, parity.tsv and JSON in {out}; PyTorch runs channels_last for bf16, cnnzoo NCHW)")
PY
