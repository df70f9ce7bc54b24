// Every model of the zoo: its size, and what one inference batch costs on the CPU.
//
// One benchmark per registered model, `predict/<name>/batch:8`. What is timed: runner::predict,
// i.e. one inference-mode forward pass (BatchNorm on running statistics, no dropout) of a batch
// of 8 synthetic images on the Eigen CPU policy in fp32, host-to-host (it includes copying the
// images in and the logits out, which is negligible). Wall-clock time (UseRealTime), because the
// OpenMP threads work in parallel; one untimed pass first lets the kernels' scratch grow.
//
// Counters:
//   trainable, keras_total  parameter counts of the model type (exact, from the type, not timed)
//   flops                   forward FLOPs per image counted by the layers (2 per multiply-add,
//                           convolutions and dense layers only), also exact and not measured
//   img/s                   images per second of wall time, measured
//   flop/s                  flops x images per second: counted FLOPs over measured time, so it
//                           also pays for the layers that do no counted arithmetic (BN, pooling)
//
// A model whose pass is predicted to exceed CNNZOO_BENCH_MAX_SECONDS (default 10 s) is reported as
// skipped (an error row in Google Benchmark 1.7) instead of run. The prediction is its counted
// FLOPs at the GEMM rate this build reaches on this machine (measured once at start-up); it
// ignores the non-GEMM layers, so it errs on the fast side.
//
//   bench_params                                 all models
//   bench_params --benchmark_filter='^predict/ResNet18/' --benchmark_min_time=0.01   (ctest smoke)
#include <benchmark/benchmark.h>

#include "bench_support.hpp"

#include <Eigen/Core>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <cnnzoo/core/rng.hpp>

#include "zoo/registry.hpp"

namespace {

using namespace cnnzoo;

double max_seconds() {
  const char* s = std::getenv("CNNZOO_BENCH_MAX_SECONDS");
  return s && *s ? std::atof(s) : 10.0;
}

// FLOP/s of a convolution-sized float GEMM through Eigen as this program was compiled (same
// flags, same threads as the CPU policy): the best of a few repetitions.
double gemm_rate() {
  static const double rate = [] {
    const Eigen::Index m = 256, k = 1152, n = 512;
    Eigen::MatrixXf a = Eigen::MatrixXf::Random(m, k), b = Eigen::MatrixXf::Random(k, n), c(m, n);
    double best = 1e30;
    for (int r = 0; r < 4; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      c.noalias() = a * b;
      best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    benchmark::DoNotOptimize(c.data());
    return 2.0 * static_cast<double>(m * k * n) / best;
  }();
  return rate;
}


void predict(benchmark::State& state, const zoo::entry* e) {
  const int batch = static_cast<int>(state.range(0));
  const zoo::model_info& info = e->info;
  state.counters["trainable"] = static_cast<double>(info.trainable);
  state.counters["keras_total"] = static_cast<double>(info.keras_total);
  state.counters["flops"] = static_cast<double>(info.flops);

  const double predicted = static_cast<double>(info.flops) * batch / gemm_rate();
  if (predicted > max_seconds()) {
    state.SkipWithError(("skipped: a pass is predicted to take " + std::to_string(predicted) + " s (over " +
                         std::to_string(max_seconds()) + " s; set CNNZOO_BENCH_MAX_SECONDS to run it)")
                            .c_str());
    for (auto _ : state) {}
    return;
  }

  zoo::runner_options o;
  o.device = zoo::device_kind::cpu;
  o.precision = "fp32";
  o.batch = batch;
  o.seed = 1;
  const auto net = e->make(o);
  rng g(5);
  std::vector<float> images(static_cast<std::size_t>(batch) * info.input.size());
  for (float& v : images) v = static_cast<float>(g.normal());
  std::vector<float> logits(static_cast<std::size_t>(batch) * 10);
  net->predict(images.data(), batch, logits.data());   // untimed: scratch grows here

  for (auto _ : state) {
    net->predict(images.data(), batch, logits.data());
    benchmark::DoNotOptimize(logits.data());
    benchmark::ClobberMemory();
  }
  state.counters["img/s"] = benchmark::Counter(batch, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["flop/s"] =
      benchmark::Counter(static_cast<double>(info.flops) * batch, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(net->device() + ", fp32, batch " + std::to_string(batch));
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("cnnzoo.cpu", cnnzoo::bench::cpu_name());
  benchmark::AddCustomContext("cnnzoo.precision", "fp32 (exec::eigen<float>)");
  for (const zoo::entry* e : zoo::models())
    benchmark::RegisterBenchmark(("predict/" + e->info.name).c_str(), predict, e)
        ->ArgName("batch")
        ->Arg(8)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
