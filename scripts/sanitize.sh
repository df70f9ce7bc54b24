#!/usr/bin/env bash
# The parsers and the trainer under the sanitizers (CTest label `sanitize` and `fuzz`; CI runs this):
#   1. a gcc build with AddressSanitizer and UndefinedBehaviorSanitizer (CNNZOO_SANITIZE) of every
#      test of a file format (CIFAR-10, class names, checkpoints, safetensors, metrics, images) and
#      of the trainer's flags, refusals, signals and kill-and-resume cycles, with a one-model zoo
#      (ResNet18) so that it builds in minutes; any report fails the test;
#   2. a clang build of the libFuzzer targets of tests/fuzz, each run for FUZZ_SECONDS from the seed
#      corpus in the repository: any crash, sanitizer report, hang or runaway allocation fails it.
#   SANITIZE_DIR, FUZZ_DIR  build directories (default: build-sanitize, build-fuzz)
#   FUZZ_SECONDS            seconds per fuzz target (default: 15)
#   JOBS                    parallel jobs (default: all cores)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${JOBS:-$(nproc)}
san=${SANITIZE_DIR:-build-sanitize}
fuzz=${FUZZ_DIR:-build-fuzz}
status=0

# ---- 1. the tests under ASan + UBSan ----------------------------------------------------------------
tests="test_io_safetensors test_io_weights test_data_cifar10 test_data_batch_plan test_data_image test_train_checkpoint
       test_apps_metrics test_apps_image_file test_apps_trainer_reliability test_apps_trainer_refusals test_apps_trainer_resume
       test_apps_weights_files test_apps_train_program_reliability"
# -O1 -g1: half the compile time of -O2 -g, line numbers in every report; asserts stay on.
cmake -S . -B "$san" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" -DCNNZOO_SANITIZE=address,undefined -DCNNZOO_CUDA=OFF \
  -DCNNZOO_ZOO_MODELS=ResNet18 -DCNNZOO_BUILD_EXAMPLES=OFF -DCNNZOO_BUILD_BENCHMARKS=OFF >/dev/null
# shellcheck disable=SC2086
cmake --build "$san" -j "$jobs" --target $tests cnnzoo-train cnnzoo-test-train
pattern='^(io/|data/(cifar10|batch_plan|image)$|train/checkpoint$|apps/(metrics|image_file|trainer_reliability|trainer_refusals|trainer_resume|weights_files|train_program_reliability)$)'
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir "$san" -R "$pattern" -j "$jobs" --output-on-failure || status=1

# ---- 2. the fuzz targets (clang, libFuzzer) ----------------------------------------------------------
if command -v clang++ >/dev/null 2>&1; then
  CXX=clang++ cmake -S . -B "$fuzz" -DCMAKE_BUILD_TYPE=Release -DCNNZOO_FUZZ=ON -DCNNZOO_FUZZ_SECONDS="${FUZZ_SECONDS:-15}" \
    -DCNNZOO_BUILD_TESTS=OFF -DCNNZOO_BUILD_APPS=OFF -DCNNZOO_BUILD_EXAMPLES=OFF -DCNNZOO_BUILD_BENCHMARKS=OFF \
    -DCNNZOO_CUDA=OFF >/dev/null
  cmake --build "$fuzz" -j "$jobs"
  # -V: each target's final line (executions, coverage) goes to the log, and is shown here.
  log="$fuzz/fuzz.log"
  ctest --test-dir "$fuzz" -L '^fuzz$' -j "$jobs" -V >"$log" 2>&1 || status=1
  grep -E 'Test +#|DONE|ERROR|runtime error|SUMMARY|tests passed|failed out of' "$log" || true
  if [ "$status" != 0 ]; then
    echo "sanitize: inputs that failed (rerun one with $fuzz/tests/fuzz/fuzz_NAME FILE):" >&2
    ls "$fuzz"/tests/fuzz/crash-* "$fuzz"/tests/fuzz/timeout-* "$fuzz"/tests/fuzz/oom-* "$fuzz"/tests/fuzz/leak-* 2>/dev/null | sed 's/^/  /' >&2 || true
  fi
else
  echo "sanitize: clang++ is not installed (apt-get install clang); the fuzz targets were not built" >&2
  status=1
fi
exit $status
