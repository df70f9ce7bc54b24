// Data-parallel training on this machine's cores, run under mpirun: what summing the gradients
// costs by model size, and what a training step gains from ranks. Every rank runs the same
// benchmarks with the same fixed iteration counts (Google Benchmark's adaptive count would differ
// between ranks and leave one waiting in a collective); rank 0 prints.
//
//   allreduce/<net>    gradient_exchange::reduce of a buffer of <net>'s parameter count (fp32,
//                      16 MiB buckets): the time per step, and GB/s of gradient summed per rank
//   train/<net>/global_batch:B   one training step of the job (exec::cpu): each rank its shard of
//                      the global batch B, forward, loss, backward, the gradient sum, SGD.
//                      img/s is the job's: B per step.
//
//   OMP_NUM_THREADS=2 mpirun -np 1 bench_data_parallel             1 rank x 2 threads
//   OMP_NUM_THREADS=1 mpirun -np 2 --bind-to none bench_data_parallel   2 ranks x 1 thread
// (add --allow-run-as-root as root). benchmarks/README.md has the figures of this machine.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <cnnzoo/cnnzoo.hpp>
#include <cnnzoo/dist/gradient_exchange.hpp>
#include <cnnzoo/dist/mpi.hpp>
#include <cnnzoo/exec/cpu.hpp>
#include <cnnzoo/models/densenet.hpp>
#include <cnnzoo/models/resnet.hpp>
#include <cnnzoo/models/vgg.hpp>
#include <cnnzoo/models/wide_resnet.hpp>
#include <cnnzoo/train/step.hpp>

#include "bench_support.hpp"

namespace {

using namespace cnnzoo;

dist::communicator* world = nullptr;
constexpr int timed_steps = 5;

std::string job_label() {
  return std::to_string(world->size()) + " rank(s) x " + std::to_string(bench::threads()) + " thread(s), fp32, " +
         world->engine();
}

void allreduce(benchmark::State& state, std::size_t params) {
  std::vector<float> grads(params, 1e-3f);
  dist::gradient_exchange exchange(*world);
  exchange.begin_step(1, world->size());
  (void)exchange.reduce(std::span<float>(grads), 1.0);   // the engine's first-use set-up, untimed
  for (auto _ : state) benchmark::DoNotOptimize(exchange.reduce(std::span<float>(grads), 1.0));
  state.counters["GB/s"] =
      benchmark::Counter(static_cast<double>(params) * sizeof(float) / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["params(M)"] = static_cast<double>(params) / 1e6;
  state.SetLabel(job_label());
}

template <class M>
void train(benchmark::State& state, int global_batch) {
  using net_t = network<M, exec::cpu>;
  const dist::share mine = dist::shard(static_cast<std::size_t>(global_batch), world->rank(), world->size());
  net_t net(static_cast<int>(mine.count), 1, exec::cpu(bench::threads()));
  train::trainer<net_t> trainer(net);
  trainer.options().lr = 0.01;
  dist::gradient_exchange exchange(*world);
  if (world->size() > 1) trainer.set_gradient_exchange(&exchange);
  rng g(3 + static_cast<std::uint64_t>(world->rank()));
  std::vector<float> images(mine.count * 3 * 32 * 32);
  for (float& v : images) v = static_cast<float>(g.normal());
  std::vector<int> labels(mine.count);
  for (int& l : labels) l = static_cast<int>(g.below(10));
  const int n = static_cast<int>(mine.count);
  exchange.begin_step(n, global_batch);
  trainer.train_step(images.data(), labels.data(), n);   // untimed: first-use set-up
  (void)exchange.take_timing();
  for (auto _ : state) {
    exchange.begin_step(n, global_batch);
    benchmark::DoNotOptimize(trainer.train_step(images.data(), labels.data(), n));
  }
  const auto t = exchange.take_timing();
  state.counters["img/s"] = benchmark::Counter(global_batch, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["allreduce ms/step"] = t.calls ? 1e3 * t.seconds / static_cast<double>(t.calls) : 0.0;
  state.SetLabel(job_label());
}

using models::densenet100;
using models::resnet18;
using models::vgg16;
using models::wide_resnet;

void register_all() {
  auto add = [](const std::string& name, auto fn) {
    benchmark::RegisterBenchmark(name.c_str(), fn)->Iterations(timed_steps)->Unit(benchmark::kMillisecond)->UseRealTime();
  };
  for (const auto& [name, params] : std::vector<std::pair<std::string, std::size_t>>{
           {"DenseNet100", network<densenet100, exec::cpu>::param_count()},
           {"WRN-16-4", network<wide_resnet<16, 4>, exec::cpu>::param_count()},
           {"ResNet18", network<resnet18, exec::cpu>::param_count()},
           {"VGG16", network<vgg16, exec::cpu>::param_count()},
           {"WRN-28-10", network<wide_resnet<28, 10>, exec::cpu>::param_count()}})
    add("allreduce/" + name, [params = params](benchmark::State& s) { allreduce(s, params); });
  for (const int batch : {64, 128}) {
    add("train/ResNet18/global_batch:" + std::to_string(batch), [batch](benchmark::State& s) { train<resnet18>(s, batch); });
    add("train/WRN-16-4/global_batch:" + std::to_string(batch),
        [batch](benchmark::State& s) { train<wide_resnet<16, 4>>(s, batch); });
  }
}

// Ranks other than 0 measure in step with rank 0 and print nothing.
class silent_reporter : public benchmark::BenchmarkReporter {
public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>&) override {}
};

}  // namespace

int main(int argc, char** argv) {
  dist::mpi_session mpi(argc, argv);
  dist::mpi_world ranks;
  world = &ranks;
  benchmark::Initialize(&argc, argv);
  register_all();
  if (ranks.rank() == 0) {
    std::printf("cnnzoo data-parallel: %s; %s\n", job_label().c_str(), bench::cpu_name().c_str());
    benchmark::RunSpecifiedBenchmarks();
  } else {
    silent_reporter quiet;
    benchmark::RunSpecifiedBenchmarks(&quiet);
  }
  benchmark::Shutdown();
  return 0;
}
