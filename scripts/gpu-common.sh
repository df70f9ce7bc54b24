# Helpers shared by scripts/gpu-check.sh, gpu-train-check.sh and gpu-learn-check.sh (sourced, not run).
# They expect `started` (the script's start, date +%s) and `deadline` (seconds from it).

# MAJOR * 10000 + MINOR * 100 + PATCH of a cudnn_version.h, as cudnnGetVersion() reports it.
cudnn_built() {
  awk '/#define CUDNN_MAJOR / {ma=$3} /#define CUDNN_MINOR / {mi=$3} /#define CUDNN_PATCHLEVEL / {pa=$3}
       END {print ma * 10000 + mi * 100 + pa}' "$1"
}

elapsed() { echo $(( $(date +%s) - started )); }

# Seconds a step may take: at most $1, and never past the deadline less a reserve for the tables.
budget() {
  local r=$(( deadline - $(elapsed) - ${RESERVE:-15} ))
  [ "$r" -gt "$1" ] && r=$1
  echo "$r"
}

# choose_cudnn BUILT: puts on LD_LIBRARY_PATH, ahead of the others, the first cuDNN that is the
# same major version as the headers the binaries were compiled with (BUILT, as cudnn_built prints
# it) and at least as new: NVIDIA supports nothing older. Candidates: the one PyTorch's wheel ships
# (nvidia/cudnn/lib), the system's, the toolkit's; each is asked its version in a process of its
# own. Sets CNNZOO_CUDNN_STRICT=1, under which the policy refuses any other.
choose_cudnn() {
  local built=${1:-0} want dir f v chosen="" candidates=()
  echo "cuDNN headers the binaries were compiled against: $((built / 10000)).$((built % 10000 / 100)).$((built % 100))"
  dir=$(python3 -c 'import os, nvidia.cudnn as c; print(os.path.join(list(c.__path__)[0], "lib"))' 2>/dev/null) && candidates+=("$dir")
  candidates+=(/usr/lib/x86_64-linux-gnu /usr/local/cuda/lib64)
  for dir in "${candidates[@]}"; do
    f="$dir/libcudnn.so.9"
    [ -e "$f" ] || continue
    v=$(python3 -c 'import ctypes, sys; print(ctypes.CDLL(sys.argv[1]).cudnnGetVersion())' "$f" 2>/dev/null || echo 0)
    want=""
    if [ "$v" -ge "$built" ] && [ $((v / 10000)) -eq $((built / 10000)) ]; then want=" (supported)"; fi
    echo "  candidate $f: cuDNN $((v / 10000)).$((v % 10000 / 100)).$((v % 100))$want"
    [ -z "$chosen" ] && [ -n "$want" ] && chosen=$dir
  done
  if [ -n "$chosen" ]; then
    export LD_LIBRARY_PATH="$chosen:$LD_LIBRARY_PATH"
    echo "chosen: $chosen (first on LD_LIBRARY_PATH; CNNZOO_CUDNN_STRICT=1)"
  else
    echo "no cuDNN >= the headers' version found: the policy will refuse to start (CNNZOO_CUDNN_STRICT=1)"
  fi
  export CNNZOO_CUDNN_STRICT=1
}

# preflight_step LABEL LOG SECONDS CMD...: runs CMD within SECONDS (less where the deadline is
# nearer), its output to LOG; prints its exit code and the first line that names CUDA (the device,
# math mode and cuDNN the trainer ran with), and the log's tail when it failed. Returns CMD's code.
preflight_step() {
  local label=$1 log=$2 secs=$3 r
  shift 3
  timeout "$(budget "$secs")" "$@" > "$log" 2>&1
  r=$?
  echo "  $label: rc $r; $(grep -m1 -i 'cuda' "$log" | cut -c1-220)"
  [ $r != 0 ] && tail -5 "$log" | sed 's/^/    /'
  return $r
}

# preflight_verdict SCRIPT RC: says how the preflight went; a failed one ends the script (unless
# FORCE=1), and so does `preflight` mode after any.
preflight_verdict() {
  if [ "$2" = 0 ]; then echo "preflight: passed in $(elapsed) s"; else echo "$1: preflight FAILED after $(elapsed) s"; fi
  [ "$2" != 0 ] && { [ "$mode" = preflight ] || [ "${FORCE:-0}" != 1 ]; } && exit 1
  [ "$mode" = preflight ] && exit 0
  return 0
}

# carry_manifest TOOL [NOTE]: lists what travels with carry ["$carry"], or says how to make it.
carry_manifest() {
  [ -d "$carry" ] || { echo "$1: $carry is missing: run 'scripts/$1.sh prepare'"; exit 1; }
  echo "== what travels with carry [\"$carry\"] (the device tool takes 64 MiB in all, the checkout included)"
  (cd "$carry" && find . -type f -printf '%10s  %p\n' | sort -k2)
  echo "total: $(du -sh "$carry" | cut -f1); cuDNN headers compiled against: $(cat "$carry/CUDNN_BUILT")${2:+; $2}"
  exit 0
}

# gpu_output TOOL: on the GPU machine, sets $out (what comes back: OUT, default build-TOOL-out) and
# $scratch (data, runs and logs: SCRATCH, default /tmp/cnnzoo-TOOL), copies everything printed to
# $scratch/summary.txt, and on exit leaves summary.txt and TOOL.tar.gz (the logs and reports, not
# the data or checkpoints) in $out.
gpu_output() {
  local tool=$1
  out=${OUT:-build-$tool-out}
  scratch=${SCRATCH:-/tmp/cnnzoo-$tool}
  mkdir -p "$out" "$scratch"
  out=$(cd "$out" && pwd)
  scratch=$(cd "$scratch" && pwd)
  exec > >(tee -a "$scratch/summary.txt") 2>&1
  # shellcheck disable=SC2064
  trap "cp '$scratch/summary.txt' '$out/summary.txt' 2>/dev/null
        tar -czf '$out/$tool.tar.gz' -C '$scratch' --exclude=cifar10 --exclude=pt --exclude=checkpoint.bin . 2>/dev/null
        echo \"$tool: \$(elapsed) s; summary.txt and $tool.tar.gz in $out\"" EXIT
}

# prepare_trainer_carry BUILD_DIR MODELS PEER_FILE...: on the CPU machine, builds a CUDA
# cnnzoo-train carrying only MODELS (;-separated seed-table names) in BUILD_DIR and fills $carry
# with it, the JPEG tarball and its converter (from ${SHARED:-../shared}), the PEER_FILEs, the
# cuDNN version its headers had and the commit.
prepare_trainer_carry() {
  local build=$1 models=$2 shared=${SHARED:-../shared}
  shift 2
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCNNZOO_CUDA=ON -DCNNZOO_BUILD_TESTS=OFF \
    -DCNNZOO_BUILD_BENCHMARKS=OFF -DCNNZOO_BUILD_EXAMPLES=OFF -DCNNZOO_BUILD_APPS=ON "-DCNNZOO_ZOO_MODELS=$models" >/dev/null
  cmake --build "$build" --target cnnzoo-train -j "${JOBS:-2}"
  rm -rf "$carry"
  mkdir -p "$carry/bin" "$carry/data" "$carry/peers"
  cp "$build/apps/cnnzoo-train" "$carry/bin/" && strip "$carry/bin/cnnzoo-train"
  cp "$shared/cifar10/cifar10-train-jpeg.tar.xz" "$shared/cifar10/make_cifar10_bin.py" "$carry/data/"
  cp "$@" "$carry/peers/"
  cudnn_built "$(sed -n 's/^CUDNN_INCLUDE_DIR:PATH=//p' "$build/CMakeCache.txt")/cudnn_version.h" > "$carry/CUDNN_BUILT"
  git rev-parse HEAD > "$carry/COMMIT" 2>/dev/null || true
}
