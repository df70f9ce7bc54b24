// What this CPU can do in fp32, the denominator of every "percent of peak" cnnzoo states.
//
//   peak/fma/<isa>     the arithmetic peak: every thread runs independent chains of fused
//                      multiply-adds on the widest vectors its instruction set has (AVX-512, AVX2
//                      + FMA, or SSE2's separate multiply and add), 12 chains deep so that the FMA
//                      units' latency is hidden; the widest set the CPU has is chosen at run time,
//                      whatever this program was compiled for. 2 FLOPs per lane per FMA.
//   peak/gemm/<n>      what the CPU kernels' matrix product (exec/eigen/gemm.hpp: oneDNN's sgemm
//                      where the build has it, else Eigen's) reaches on an n x n x n product: the
//                      practical ceiling of a convolution lowered to GEMM.
// Threads: OMP_NUM_THREADS (default all cores). Counter FLOP/s.
//
//   OMP_NUM_THREADS=2 bench_cpu_peak
#include <benchmark/benchmark.h>

#include "bench_support.hpp"

#include <string>
#include <vector>

#include <cnnzoo/exec/eigen.hpp>

namespace {

constexpr int chains = 12;
constexpr long rounds = 1 << 16;

// One thread's FMA chains on vectors of Lanes floats; returns a value that depends on every chain
// (so that nothing is optimized away). Compiled once per instruction set by the callers below.
#define CNNZOO_FMA_KERNEL(NAME, TARGET, LANES)                                                       \
  __attribute__((target(TARGET))) float NAME(float seed) {                                          \
    typedef float vec __attribute__((vector_size(LANES * 4)));                                     \
    vec acc[chains];                                                                                \
    const vec a = vec{} + 0.999999f, b = vec{} + 1e-7f * seed;                                      \
    for (int c = 0; c < chains; ++c) acc[c] = vec{} + seed * static_cast<float>(c + 1);             \
    for (long r = 0; r < rounds; ++r)                                                               \
      for (int c = 0; c < chains; ++c) acc[c] = acc[c] * a + b;                                     \
    float sum = 0;                                                                                  \
    for (int c = 0; c < chains; ++c)                                                                \
      for (int l = 0; l < LANES; ++l) sum += acc[c][l];                                             \
    return sum;                                                                                     \
  }
CNNZOO_FMA_KERNEL(fma_avx512, "avx512f", 16)
CNNZOO_FMA_KERNEL(fma_avx2, "avx2,fma", 8)
CNNZOO_FMA_KERNEL(fma_sse2, "sse2", 4)
#undef CNNZOO_FMA_KERNEL

struct isa {
  const char* name;
  int lanes;
  float (*kernel)(float);
};
isa widest_isa() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return {"avx512", 16, fma_avx512};
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return {"avx2_fma", 8, fma_avx2};
  return {"sse2", 4, fma_sse2};
}

using cnnzoo::bench::threads;

void fma_peak(benchmark::State& state, isa i) {
  const int nt = threads();
  float sink = 0;
  for (auto _ : state) {
#pragma omp parallel for reduction(+ : sink) num_threads(nt)
    for (int t = 0; t < nt; ++t) sink += i.kernel(1.0f + static_cast<float>(t));
  }
  benchmark::DoNotOptimize(sink);
  const double flops = 2.0 * i.lanes * chains * static_cast<double>(rounds) * nt;
  state.counters["FLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::string(i.name) + ", " + std::to_string(nt) + " threads");
}

void gemm_peak(benchmark::State& state) {
  const std::ptrdiff_t n = state.range(0);
  std::vector<float> a(static_cast<std::size_t>(n * n), 0.5f), b(a.size(), 0.25f), c(a.size());
  namespace ed = cnnzoo::exec::eigen_detail;
  ed::gemm(false, false, n, n, n, a.data(), n, b.data(), n, c.data(), n, ed::accumulate::no);   // untimed
  for (auto _ : state) {
    ed::gemm(false, false, n, n, n, a.data(), n, b.data(), n, c.data(), n, ed::accumulate::no);
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["FLOP/s"] =
      benchmark::Counter(2.0 * static_cast<double>(n) * n * n, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::to_string(threads()) + " threads");
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("cnnzoo.cpu", cnnzoo::bench::cpu_name());
  benchmark::AddCustomContext("cnnzoo.gemm", cnnzoo::exec::eigen_detail::gemm_engine());
  const isa i = widest_isa();
  benchmark::RegisterBenchmark((std::string("peak/fma/") + i.name).c_str(), fma_peak, i)->UseRealTime();
  benchmark::RegisterBenchmark("peak/gemm", gemm_peak)->Arg(1024)->Arg(2048)->UseRealTime()->Unit(benchmark::kMillisecond);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
