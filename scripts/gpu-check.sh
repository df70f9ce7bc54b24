#!/usr/bin/env bash
# The CUDA policy's checks on a GPU, built to spend few minutes of GPU time: a preflight that
# stops a broken environment within a minute, then the parity tests, the training tests, the
# throughput benchmark and the PyTorch peer in the same call, with each table printed as soon as
# its part has finished.
#
#   scripts/gpu-check.sh prepare     on the CPU machine (nvcc, cuDNN, Catch2, Google Benchmark
#                                    installed): builds every tests/cuda binary (in BUILD_DIR,
#                                    default build-gpu) and benchmarks/cuda_throughput into
#                                    carry/gpu/ (git-ignored) with what they need there, and lists
#                                    what will travel.
#   scripts/gpu-check.sh preflight   on the GPU machine: versions (driver, the cuDNN each candidate
#                                    library is, the one chosen, what the binaries resolve), then one
#                                    convolution forward/backward in fp32, tf32, bf16 and fp16 against
#                                    the CPU. 30-60 s.
#   scripts/gpu-check.sh [run]       on the GPU machine: the preflight, and unless it failed
#                                    (FORCE=1 goes on anyway) everything else while DEADLINE allows.
#
# With the device tool: carry ["carry/gpu"], command
#   `scripts/gpu-check.sh run`, timeout_s 600 (DEADLINE defaults to 540 s so the tables get out).
#
# cuDNN: the binaries are compiled against this machine's cuDNN headers (carry/gpu/CUDNN_BUILT).
# NVIDIA supports running them on the same or a newer 9.x only, so the script looks for such a
# library (PyTorch's wheel ships one: nvidia/cudnn/lib; then the system's), puts it first on
# LD_LIBRARY_PATH and sets CNNZOO_CUDNN_STRICT=1, under which the policy refuses any other.
#
# Where things go: builds, logs and JSON under SCRATCH (default /tmp/cnnzoo-gpu-check); what
# comes back is OUT (default build-gpu-out): summary.txt (everything printed) and gpu-check.tar.gz
# (the logs, parity.tsv, tests.tsv, the JSON), two small files.
#
# Environment: DEADLINE (s from the start; nothing starts that cannot end before it), OUT, SCRATCH,
# JOBS, TESTS="ops model_resnet ..." (only these test binaries), SKIP_TESTS=1, SKIP_BENCH=1,
# SKIP_PEER=1, FORCE=1, PEER (torch_zoo.py; default carry/gpu/peers, ../shared/peers, shared/peers).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
mode=${1:-run}
carry=carry/gpu
started=$(date +%s)
deadline=${DEADLINE:-540}

find_nvcc() {
  command -v nvcc 2>/dev/null || { [ -x /usr/local/cuda/bin/nvcc ] && echo /usr/local/cuda/bin/nvcc; } || true
}

source scripts/gpu-common.sh

# ---- prepare: build here, carry there -----------------------------------------------------------------
if [ "$mode" = prepare ]; then
  set -e
  # The whole project is configured (other test folders refer to the zoo); only the GPU targets
  # are built.
  build=${BUILD_DIR:-build-gpu}   # an existing CUDA build tree (e.g. build) is reused as it is
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCNNZOO_CUDA=ON -DCNNZOO_BUILD_TESTS=ON \
    -DCNNZOO_BUILD_APPS=ON >/dev/null
  cmake --build "$build" --target cnnzoo-gpu-tests -j "${JOBS:-2}"
  rm -rf "$carry"
  mkdir -p "$carry/bin" "$carry/lib" "$carry/include/catch2" "$carry/peers"
  for t in "$build"/tests/cuda/test_cuda_*; do
    [ -x "$t" ] && cp "$t" "$carry/bin/" && strip "$carry/bin/$(basename "$t")"
  done
  nvcc=$(find_nvcc)
  "$nvcc" -std=c++20 -O3 -arch=sm_90 -Iinclude benchmarks/cuda_throughput.cu -o "$carry/bin/cuda_throughput" \
    -lcudnn -lcublas -lbenchmark -lpthread
  strip "$carry/bin/cuda_throughput"
  # The GPU machine has no Catch2 (for a rebuild there), and its Google Benchmark has another soname.
  cp /usr/include/catch2/catch.hpp "$carry/include/catch2/"
  for l in $(ldd "$carry/bin/cuda_throughput" | awk '/libbenchmark/ {print $3}'); do cp -L "$l" "$carry/lib/"; done
  # The peer: ../shared does not travel to the GPU machine.
  cp "${SHARED:-../shared}/peers/torch_zoo.py" "$carry/peers/"
  # The cuDNN the binaries were compiled against, for choosing a library there.
  cudnn_inc=$(sed -n 's/^CUDNN_INCLUDE_DIR:PATH=//p' "$build/CMakeCache.txt")
  cudnn_built "$cudnn_inc/cudnn_version.h" > "$carry/CUDNN_BUILT"
  git rev-parse HEAD > "$carry/COMMIT" 2>/dev/null || true
fi
if [ "$mode" = prepare ] || [ "$mode" = manifest ]; then
  [ -d "$carry" ] || { echo "gpu-check: $carry is missing: run 'scripts/gpu-check.sh prepare'"; exit 1; }
  echo "== what travels with carry [\"$carry\"] (the device tool takes 64 MiB in all, the checkout included)"
  (cd "$carry" && find . -type f -printf '%10s  %p\n' | sort -k2)
  echo "total: $(du -sh "$carry" | cut -f1); checkout (tracked files): $(git ls-files -z | du -ch --files0-from=- 2>/dev/null | tail -1 | cut -f1)"
  echo "cuDNN headers compiled against: $(cat "$carry/CUDNN_BUILT" 2>/dev/null || echo '?'); commit $(cat "$carry/COMMIT" 2>/dev/null || echo '?')"
  exit 0
fi

# ---- the GPU machine ----------------------------------------------------------------------------------------
out=${OUT:-build-gpu-out}
scratch=${SCRATCH:-/tmp/cnnzoo-gpu-check}
mkdir -p "$out" "$scratch"
out=$(cd "$out" && pwd)
scratch=$(cd "$scratch" && pwd)
: > "$scratch/tests.tsv"
: > "$scratch/parity.tsv"
# Everything printed goes to summary.txt too; at exit the summary and one archive go to OUT.
exec > >(tee -a "$scratch/summary.txt") 2>&1
finish() {
  cp "$scratch/summary.txt" "$out/summary.txt" 2>/dev/null
  tar -czf "$out/gpu-check.tar.gz" -C "$scratch" --exclude=bin --exclude=obj . 2>/dev/null
  echo "gpu-check: $(( $(date +%s) - started )) s; summary.txt and gpu-check.tar.gz in $out"
}
trap finish EXIT

bin="$root/$carry/bin"
export LD_LIBRARY_PATH="$root/$carry/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
# NCCL (test_cuda_nccl, the data-parallel engine): the toolkit's where it ships one, else PyTorch's.
nccl_dir() {
  local d
  for d in /usr/local/cuda/lib /usr/local/cuda/lib64 /usr/lib/x86_64-linux-gnu; do
    [ -e "$d/libnccl.so.2" ] && { echo "$d"; return; }
  done
  python3 -c 'import nvidia.nccl, os; print(os.path.join(list(nvidia.nccl.__path__)[0], "lib"))' 2>/dev/null || true
}
[ -n "$(nccl_dir)" ] && export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$(nccl_dir)"
tables() { python3 "$root/scripts/gpu_tables.py" "$1" "$scratch"; }

build_here() {
  # Fallback when no binaries were carried: the same sources, compiled with plain commands.
  local nvcc cudnn_inc catch_inc obj jobs=${JOBS:-$(nproc)}
  nvcc=$(find_nvcc)
  [ -n "$nvcc" ] || { echo "gpu-check: no nvcc, cannot build"; return 1; }
  cudnn_inc=$(dirname "$(ls /usr/include/x86_64-linux-gnu/cudnn.h /usr/include/cudnn.h /usr/local/cuda/include/cudnn.h 2>/dev/null | head -1)")
  bin="$scratch/bin"
  obj="$scratch/obj"
  mkdir -p "$bin" "$obj"
  cudnn_built "$cudnn_inc/cudnn_version.h" > "$scratch/CUDNN_BUILT"
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
    "$nvcc" -std=c++20 --expt-relaxed-constexpr -O3 -arch=sm_90 -Iinclude -I"$cudnn_inc" -c tests/cuda/kernels.cu -o "$obj/kernels.o" &
    local kpid=$!
    printf '#define CATCH_CONFIG_MAIN\n#include <catch2/catch.hpp>\n' > "$obj/catch_main.cpp"
    ls tests/cuda/*.cpp | xargs -P "$jobs" -I{} sh -c 'g++ '"${flags[*]}"' -fopenmp -c {} -o '"$obj"'/$(basename {} .cpp).o'
    g++ "${flags[@]}" -c "$obj/catch_main.cpp" -o "$obj/catch_main.o"
    wait "$kpid"
    g++ "$obj/functors.o" "$obj/catch_main.o" -o "$bin/test_cuda_functors" "${libs[@]}"
    for o in "$obj"/*.o; do
      s=$(basename "$o" .o)
      case "$s" in functors|gpu_main|catch_main|kernels) continue ;; esac
      local extra=()
      [ "$s" = nccl ] && extra=(-L/usr/local/cuda/lib -L"$(nccl_dir)" -l:libnccl.so.2)
      g++ "$o" "$obj/gpu_main.o" "$obj/kernels.o" -o "$bin/test_cuda_$s" "${libs[@]}" "${extra[@]}"
    done
  fi
  wait "$bench_pid"
}

run_test() {   # run_test BINARY CAP [Catch2 arguments...]
  local t=$1 cap=$2 name s rc summary limit
  shift 2
  name=$(basename "$t")${1:+ $*}
  limit=$(budget "$cap")
  if [ "$limit" -lt 20 ]; then
    printf '%s\t-\t0\tnot run: the %s s deadline was reached\n' "$name" "$deadline" >> "$scratch/tests.tsv"
    return 124
  fi
  s=$(date +%s)
  local log="$scratch/$(basename "$t")${1:+-preflight}.log"
  CNNZOO_PARITY_LOG="$scratch/parity.tsv" timeout "$limit" "$t" "$@" > "$log" 2>&1
  rc=$?
  summary=$(grep -E "^(All tests passed|test cases:)" "$log" | tail -1)
  [ $rc = 77 ] && summary=$(grep -m1 SKIP "$log")
  [ $rc = 124 ] && summary="timed out after $limit s"
  printf '%s\t%s\t%s\t%s\n' "$name" "$rc" "$(( $(date +%s) - s ))" "$summary" >> "$scratch/tests.tsv"
  echo "-- $name: rc $rc, $(( $(date +%s) - s )) s: $summary"
  [ $rc != 0 ] && [ $rc != 77 ] && grep -E -B2 -A12 "FAILED|with expansion|error|cuDNN" "$log" | head -60
  return $rc
}
wanted() {   # TESTS="ops model_resnet" runs only those
  [ -z "${TESTS:-}" ] && return 0
  case " $TESTS " in *" ${1#test_cuda_} "*) return 0 ;; esac
  return 1
}

# ---- preflight: the environment, then one convolution per precision, within a minute ---------------------
preflight() {
  echo "== preflight ($(date -u +%FT%TZ))"
  echo "GPU: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo 'nvidia-smi unavailable')"
  if [ ! -x "$bin/test_cuda_ops" ]; then
    echo "gpu-check: no carried binaries in $bin: building here (several minutes; run 'prepare' on the CPU machine instead)"
    build_here || true
  fi
  choose_cudnn "$(cat "$root/$carry/CUDNN_BUILT" "$scratch/CUDNN_BUILT" 2>/dev/null | head -1)"
  [ -x "$bin/test_cuda_ops" ] || { echo "gpu-check: preflight FAILED: no test binaries"; return 1; }
  echo "libraries test_cuda_ops resolves:"
  ldd "$bin/test_cuda_ops" | grep -E "cudnn|cublas|cudart|not found" | sed 's/^/  /'
  run_test "$bin/test_cuda_ops" 90 "[conv]"
  local rc=$?
  head -3 "$scratch/test_cuda_ops-preflight.log" | sed 's/^/  /'   # the device and the cuDNN that ran
  [ $rc = 0 ] && echo "preflight: passed in $(elapsed) s" || echo "gpu-check: preflight FAILED (rc $rc) after $(elapsed) s"
  return $rc
}

if ! preflight; then
  if [ "$mode" = preflight ] || [ "${FORCE:-0}" != 1 ]; then
    tables tests
    exit 1
  fi
fi
[ "$mode" = preflight ] && exit 0

# ---- the quick GPU tests -----------------------------------------------------------------------------------
if [ "${SKIP_TESTS:-0}" != 1 ]; then
  echo "== GPU tests"
  for t in "$bin"/test_cuda_*; do
    [ -x "$t" ] || continue
    case "$(basename "$t")" in test_cuda_model_zoo*) continue ;; esac
    wanted "$(basename "$t")" && run_test "$t" 240
  done
  tables tests
  tables parity
fi

# ---- throughput: cnnzoo, then the PyTorch peer on the same rows, in the same call ------------------------------
if [ "${SKIP_BENCH:-0}" != 1 ] && [ -x "$bin/cuda_throughput" ]; then
  limit=$(budget 150)
  if [ "$limit" -ge 30 ]; then
    echo "== cnnzoo throughput (up to $limit s)"
    timeout "$limit" "$bin/cuda_throughput" --benchmark_format=json --benchmark_out="$scratch/cnnzoo.json" \
      --benchmark_out_format=json > "$scratch/cnnzoo_bench.log" 2>&1 ||
      echo "gpu-check: benchmark failed (rc $?), see cnnzoo_bench.log"
    tail -12 "$scratch/cnnzoo_bench.log"
  fi
fi
if [ "${SKIP_PEER:-0}" != 1 ]; then
  peer=${PEER:-}
  for p in "$carry/peers/torch_zoo.py" ../shared/peers/torch_zoo.py shared/peers/torch_zoo.py; do
    [ -z "$peer" ] && [ -f "$p" ] && peer=$p
  done
  if [ -n "$peer" ]; then
    # Only the rows of the table: (names, batch, precision, PyTorch's TF32 setting, file tag).
    for row in "ResNet18,WideResNet 512 bf16 default b512" "ResNet18 128 bf16 default b128" \
               "ResNet18 128 fp32 off fp32" "ResNet18 128 fp32 on tf32"; do
      read -r names batch prec tf tag <<< "$row"
      limit=$(budget 90)
      [ "$limit" -lt 30 ] && { echo "gpu-check: no time left for the peer's $tag row"; continue; }
      echo "== PyTorch peer: $names, batch $batch, $prec, TF32 $tf"
      timeout "$limit" python3 "$peer" --bench "$names" --batch "$batch" --precision "$prec" --tf32 "$tf" \
        --steps 20 --warmup 10 --out "$scratch/torch_$tag.json" > "$scratch/torch_$tag.log" 2>&1 ||
        echo "gpu-check: peer row $tag failed (rc $?), see torch_$tag.log"
    done
  else
    echo "gpu-check: torch_zoo.py not found (set PEER)"
  fi
fi
tables throughput

# ---- the full-size zoo models, while the deadline allows ---------------------------------------------------------
if [ "${SKIP_TESTS:-0}" != 1 ]; then
  for t in "$bin"/test_cuda_model_zoo*; do
    [ -x "$t" ] && wanted "$(basename "$t")" && run_test "$t" 300
  done
  tables tests
  tables parity
fi
