// Every model of the zoo on the CPU: its size, and what a training step and an inference pass cost
// at the seed table's batch size. One command prints the table of all 31 rows:
//
//   OMP_NUM_THREADS=2 bench_zoo                                   every model, seed batch
//   bench_zoo --benchmark_filter='/ResNet18/'                      one model
//   CNNZOO_BENCH_BATCH=32 bench_zoo                                another batch for every model
//
// Two benchmarks per model, both fp32 on the CPU policy the trainer uses, on synthetic data already
// in memory, wall-clock time (the OpenMP threads work in parallel), one untimed pass first:
//   train/<name>/batch:B     one training step as cnnzoo-train runs it (runner::queue_step): the
//                            batch rendered from 8-bit images, forward in training mode, softmax
//                            cross-entropy, backward, SGD (Nesterov momentum 0.9, weight decay 5e-4)
//   predict/<name>/batch:B   one inference forward (runner::predict: BatchNorm on running
//                            statistics, no dropout), host to host
//
// Counters:
//   trainable, keras_total  parameter counts of the model type (exact, from the type, not timed)
//   flops                   forward FLOPs per image counted by the layers (2 per multiply-add,
//                           convolutions and dense layers only), also exact and not measured
//   img/s                   images per second of wall time, measured
//   flop/s                  counted FLOPs x images per second (training: 3x the forward FLOPs, the
//                           usual count for forward + both backward products), so it also pays for
//                           the layers that do no counted arithmetic (BN, pooling)
//   peak_MiB                the process's peak resident memory while the benchmark built its network
//                           and ran (VmHWM, reset before each benchmark), less what it held before
//
// A pass is reported as skipped (an error row in Google Benchmark 1.7) instead of run when its network
// would not fit in the memory available (the trainer's estimate), or when it is predicted to take
// more than CNNZOO_BENCH_MAX_SECONDS (default 10 s). The prediction is its counted
// FLOPs at the rate this build's matrix product reaches on this machine (measured once at
// start-up); it ignores the non-GEMM layers, so it errs on the fast side.
//
//   bench_zoo --benchmark_filter='^predict/ResNet18/' --benchmark_min_time=0.01   (ctest smoke)
#include <benchmark/benchmark.h>

#include "bench_support.hpp"

#include <algorithm>
#include <memory>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <cnnzoo/core/rng.hpp>
#include <cnnzoo/exec/eigen.hpp>
#include <cnnzoo/ops/render.hpp>

#include "zoo/registry.hpp"

namespace {

using namespace cnnzoo;

double max_seconds() {
  const char* s = std::getenv("CNNZOO_BENCH_MAX_SECONDS");
  return s && *s ? std::atof(s) : 10.0;
}

// FLOP/s of a convolution-sized float product through the CPU kernels' engine (exec/eigen/gemm.hpp,
// same threads as the CPU policy): the best of a few repetitions.
double gemm_rate() {
  static const double rate = [] {
    const std::ptrdiff_t m = 256, k = 1152, n = 512;
    std::vector<float> a(static_cast<std::size_t>(m * k), 0.5f), b(static_cast<std::size_t>(k * n), 0.25f),
        c(static_cast<std::size_t>(m * n));
    double best = 1e30;
    for (int r = 0; r < 4; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      exec::eigen_detail::gemm(false, false, m, n, k, a.data(), k, b.data(), n, c.data(), n,
                               exec::eigen_detail::accumulate::no);
      best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    benchmark::DoNotOptimize(c.data());
    return 2.0 * static_cast<double>(m * k * n) / best;
  }();
  return rate;
}

// Resident memory of this process from /proc/self/status: "VmRSS" now, "VmHWM" its peak (KiB).
double status_kib(const std::string& field) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(field + ":", 0) == 0) return std::atof(line.c_str() + field.size() + 1);
  return 0;
}
// Resets VmHWM to the present resident size (Linux: "5" to clear_refs); false where not allowed.
bool reset_peak_memory() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

int batch_for(const zoo::model_info& info) {
  const char* s = std::getenv("CNNZOO_BENCH_BATCH");
  return s && *s ? std::max(1, std::atoi(s)) : info.seed_batch;
}

// Skips (with the reason) a benchmark whose pass would take too long; true when it may run.
bool within_budget(benchmark::State& state, double flops_per_pass) {
  const double predicted = flops_per_pass / gemm_rate();
  if (predicted <= max_seconds()) return true;
  state.SkipWithError(("skipped: a pass is predicted to take " + std::to_string(predicted) + " s (over " +
                       std::to_string(max_seconds()) + " s; set CNNZOO_BENCH_MAX_SECONDS to run it)")
                          .c_str());
  for (auto _ : state) {}
  return false;
}

// Skips (with the reason) a benchmark whose network would not fit in the memory available now, by
// the trainer's estimate (apps/train/memory.cpp: 10 bytes per activation value per image, 36 per
// parameter), instead of letting the kernel's OOM killer end the whole program.
bool fits_in_memory(benchmark::State& state, const zoo::model_info& info, int batch) {
  double available_kib = 0;
  std::ifstream in("/proc/meminfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("MemAvailable:", 0) == 0) available_kib = std::atof(line.c_str() + 13);
  const double need = 10.0 * static_cast<double>(info.activations) * batch + 36.0 * static_cast<double>(info.trainable);
  if (available_kib <= 0 || need <= available_kib * 1024.0 * 0.9) return true;
  state.SkipWithError(("skipped: needs about " + std::to_string(static_cast<int>(need / (1 << 30))) + " GiB, " +
                       std::to_string(static_cast<int>(available_kib / (1 << 20))) +
                       " GiB available (set CNNZOO_BENCH_BATCH lower)")
                          .c_str());
  for (auto _ : state) {}
  return false;
}

void size_counters(benchmark::State& state, const zoo::model_info& info) {
  state.counters["trainable"] = static_cast<double>(info.trainable);
  state.counters["keras_total"] = static_cast<double>(info.keras_total);
  state.counters["flops"] = static_cast<double>(info.flops);
}

std::unique_ptr<zoo::runner> cpu_runner(const zoo::entry* e, int batch) {
  zoo::runner_options o;
  o.device = zoo::device_kind::cpu;
  o.precision = "fp32";
  o.batch = batch;
  o.seed = 1;
  return e->make(o);
}

void rate_counters(benchmark::State& state, double flops_per_image, int batch, double rss_before_kib) {
  state.counters["img/s"] = benchmark::Counter(batch, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["flop/s"] = benchmark::Counter(flops_per_image * batch, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["peak_MiB"] = std::max(0.0, status_kib("VmHWM") - rss_before_kib) / 1024.0;
}

void train_pass(benchmark::State& state, const zoo::entry* e) {
  const zoo::model_info& info = e->info;
  const int batch = batch_for(info);
  size_counters(state, info);
  const double step_flops = 3.0 * static_cast<double>(info.flops);
  if (!within_budget(state, step_flops * batch) || !fits_in_memory(state, info, batch)) return;
  reset_peak_memory();
  const double rss_before = status_kib("VmRSS");
  const auto net = cpu_runner(e, batch);

  // `batch` 8-bit images, each rendered as itself (no augmentation), one-hot targets.
  rng g(5);
  std::vector<std::uint8_t> pixels(static_cast<std::size_t>(batch) * info.input.size());
  for (auto& p : pixels) p = static_cast<std::uint8_t>(g.below(256));
  const std::vector<float> norm{127.5f, 1.0f / 64, 127.5f, 1.0f / 64, 127.5f, 1.0f / 64};
  net->set_training_images(pixels, norm);
  std::vector<ops::image_recipe> recipes(static_cast<std::size_t>(batch));
  std::vector<std::uint8_t> labels(static_cast<std::size_t>(batch));
  std::vector<float> targets(static_cast<std::size_t>(batch) * 10, 0.0f);
  for (int i = 0; i < batch; ++i) {
    recipes[static_cast<std::size_t>(i)].source = static_cast<std::uint32_t>(i);
    labels[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(g.below(10));
    targets[static_cast<std::size_t>(i) * 10 + labels[static_cast<std::size_t>(i)]] = 1.0f;
  }
  net->optimizer().lr = 0.01;   // small enough that repeated steps on one batch stay finite
  std::int64_t step = 0;
  net->queue_step(recipes, targets, labels, step++);   // untimed: scratch grows here
  net->take_step_totals();
  for (auto _ : state) {
    net->queue_step(recipes, targets, labels, step++);
    benchmark::ClobberMemory();
  }
  const ops::step_totals totals = net->take_step_totals();
  rate_counters(state, step_flops, batch, rss_before);
  state.counters["loss"] = totals.images ? totals.loss_sum / static_cast<double>(totals.images) : 0.0;
  state.SetLabel(net->device() + ", fp32, batch " + std::to_string(batch));
}

void predict_pass(benchmark::State& state, const zoo::entry* e) {
  const zoo::model_info& info = e->info;
  const int batch = batch_for(info);
  size_counters(state, info);
  if (!within_budget(state, static_cast<double>(info.flops) * batch) || !fits_in_memory(state, info, batch)) return;
  reset_peak_memory();
  const double rss_before = status_kib("VmRSS");
  const auto net = cpu_runner(e, batch);
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
  rate_counters(state, static_cast<double>(info.flops), batch, rss_before);
  state.SetLabel(net->device() + ", fp32, batch " + std::to_string(batch));
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("cnnzoo.cpu", cnnzoo::bench::cpu_name());
  benchmark::AddCustomContext("cnnzoo.precision", "fp32 (the CPU policy cnnzoo-train uses)");
  benchmark::AddCustomContext("cnnzoo.gemm", exec::eigen_detail::gemm_engine());
  benchmark::AddCustomContext("cnnzoo.peak_memory", reset_peak_memory() ? "VmHWM, reset per benchmark"
                                                                        : "VmHWM, not resettable here: a running maximum");
  using pass_fn = void (*)(benchmark::State&, const zoo::entry*);
  const std::pair<std::string, pass_fn> passes[] = {{"train/", &train_pass}, {"predict/", &predict_pass}};
  for (const zoo::entry* e : zoo::models())
    for (const auto& [pass, fn] : passes)
      benchmark::RegisterBenchmark((pass + e->info.name + "/batch:" + std::to_string(batch_for(e->info))).c_str(), fn, e)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
