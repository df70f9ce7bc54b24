// Training-step throughput on the CPU (fp32), the figure the CPU trainer's speed comes down to: the
// policy cnnzoo-train uses (exec::cpu: oneDNN's convolutions where the build has oneDNN) beside
// the Eigen policy (im2col + the build's matrix product), the reference.
//
// What is timed: train::trainer::train_step on one fixed batch of synthetic 32x32 images and labels
// already in memory: upload of the batch (a copy), forward in training mode, softmax
// cross-entropy, backward, and the SGD update (Nesterov momentum 0.9, weight decay 5e-4, lr 0.01).
// Not timed: data loading and augmentation, which the trainer does besides. Wall-clock time
// (UseRealTime), since the OpenMP threads (OMP_NUM_THREADS, default all cores) work in parallel;
// one untimed step first lets the kernels' scratch buffers grow, as the trainer's first step does.
//
//   train_step/ResNet18/batch:{32,128}         PreAct-ResNet18 of the zoo (11.2 M parameters)
//   train_step/WRN-16-4/batch:{32,128}         wide_resnet<16, 4> (2.7 M parameters), a smaller
//                                              residual network of the same family as WideResNet
//   train_step_direct/<same>                   exec::onednn with direct convolutions only (no Winograd)
//   train_step_eigen/<same>                    the same on exec::eigen<float>
//
// Counter img/s: images per second of wall time. The label names the device, threads,
// precision and batch; the context the CPU model.
//
//   OMP_NUM_THREADS=2 bench_cpu_train_step --benchmark_filter=ResNet18
#include <benchmark/benchmark.h>

#include "bench_support.hpp"

#include <fstream>
#include <string>
#include <vector>

#include <cnnzoo/cnnzoo.hpp>
#include <cnnzoo/exec/cpu.hpp>
#include <cnnzoo/exec/eigen.hpp>
#include <cnnzoo/models/resnet.hpp>
#include <cnnzoo/models/wide_resnet.hpp>
#include <cnnzoo/train/step.hpp>

namespace {

using namespace cnnzoo;

#ifdef CNNZOO_HAVE_ONEDNN
// exec::onednn without Winograd: what the direct kernels alone reach.
struct onednn_direct : exec::onednn {
  static constexpr std::string_view name = "onednn (direct convolutions only)";
  onednn_direct() : exec::onednn(0, exec::onednn::algorithms::direct_only) {}
};
#endif


using cnnzoo::bench::threads;

template <class M, class P>
void train_step(benchmark::State& state) {
  using net_t = network<M, P>;
  const int batch = static_cast<int>(state.range(0));
  net_t net(batch, 1);
  train::trainer trainer(net);
  trainer.options().lr = 0.01;   // small enough that repeated steps on one batch stay finite

  rng g(7);
  std::vector<float> images(static_cast<std::size_t>(batch) * net_t::input_shape.size());
  for (float& v : images) v = static_cast<float>(g.normal());
  std::vector<int> labels(static_cast<std::size_t>(batch));
  for (int& l : labels) l = static_cast<int>(g.below(10));

  double loss = trainer.train_step(images.data(), labels.data(), batch);   // untimed warm-up
  for (auto _ : state) {
    loss = trainer.train_step(images.data(), labels.data(), batch);
    benchmark::DoNotOptimize(loss);
  }
  state.counters["img/s"] = benchmark::Counter(batch, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["loss"] = loss;
  state.SetLabel(std::string("cpu ") + std::string(P::name) + ", " + std::to_string(threads()) +
                 " threads, fp32, batch " + std::to_string(batch));
}

struct context {
  context() {
    benchmark::AddCustomContext("cnnzoo.cpu", cnnzoo::bench::cpu_name());
    benchmark::AddCustomContext("cnnzoo.omp_threads", std::to_string(threads()));
    benchmark::AddCustomContext("cnnzoo.precision", "fp32");
    benchmark::AddCustomContext("cnnzoo.cpu_policy", std::string(exec::cpu::name) + ": " + exec::cpu().describe());
    benchmark::AddCustomContext("cnnzoo.eigen_policy", exec::eigen<float>().describe());
  }
} const context_;

}  // namespace

BENCHMARK_TEMPLATE(train_step, models::resnet18, exec::cpu)
    ->Name("train_step/ResNet18")->ArgName("batch")->Arg(32)->Arg(128)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(train_step, models::wide_resnet<16, 4>, exec::cpu)
    ->Name("train_step/WRN-16-4")->ArgName("batch")->Arg(32)->Arg(128)->UseRealTime()->Unit(benchmark::kMillisecond);
#ifdef CNNZOO_HAVE_ONEDNN
BENCHMARK_TEMPLATE(train_step, models::resnet18, onednn_direct)
    ->Name("train_step_direct/ResNet18")->ArgName("batch")->Arg(32)->Arg(128)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(train_step, models::wide_resnet<16, 4>, onednn_direct)
    ->Name("train_step_direct/WRN-16-4")->ArgName("batch")->Arg(32)->Arg(128)->UseRealTime()->Unit(benchmark::kMillisecond);
#endif
BENCHMARK_TEMPLATE(train_step, models::resnet18, exec::eigen<float>)
    ->Name("train_step_eigen/ResNet18")->ArgName("batch")->Arg(32)->Arg(128)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(train_step, models::wide_resnet<16, 4>, exec::eigen<float>)
    ->Name("train_step_eigen/WRN-16-4")->ArgName("batch")->Arg(32)->Arg(128)->UseRealTime()->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
