// Training-step throughput of the CUDA policy (Google Benchmark), the figures issue 4 compares
// with ../shared/peers/torch_throughput.py: PreAct-ResNet18 at batch 128 and 512 and WRN-28-10 at
// batch 512 in bf16, and PreAct-ResNet18 at batch 128 in fp32. A step is forward, label-smoothed
// softmax cross-entropy, backward and the SGD-Nesterov update, on synthetic images already on the
// device (as the PyTorch peer does); img_per_s is measured between two device synchronisations.
//
//   cuda_throughput --benchmark_format=json > cnnzoo.json     (scripts/gpu-check.sh runs this)
//
// One .cu file: it carries the policy's device code too (kernels.hpp), so it builds with a single
// nvcc command where CMake is not at hand.
#include <benchmark/benchmark.h>

#include <chrono>
#include <vector>

#include <cnnzoo/exec/cuda/kernels.hpp>
#include <cnnzoo/models/resnet.hpp>
#include <cnnzoo/models/wide_resnet.hpp>

namespace {

using namespace cnnzoo;

template <class M, class Precision>
void train_step(benchmark::State& state) {
  using P = exec::cuda<Precision>;
  using T = typename P::value_type;
  using net_t = network<M, P>;
  const int batch = static_cast<int>(state.range(0));
  if (!exec::cuda_available()) {
    state.SkipWithError(("no CUDA device: " + exec::cuda_unavailable_reason()).c_str());
    for (auto _ : state) {}
    return;
  }
  net_t net(batch, 1);
  P& policy = net.policy();
  net.optimizer().lr = 0.05;   // the peer's settings: SGD, momentum 0.9, Nesterov, weight decay 5e-4

  rng g(7);
  std::vector<float> images(static_cast<std::size_t>(batch) * net_t::input_shape.size());
  for (float& v : images) v = static_cast<float>(g.normal());
  net.set_input(images.data(), batch);
  std::vector<T> targets(static_cast<std::size_t>(batch) * net_t::classes, T(0.1f / net_t::classes));
  for (int i = 0; i < batch; ++i)
    targets[static_cast<std::size_t>(i) * net_t::classes + g.below(net_t::classes)] = T(0.9f + 0.1f / net_t::classes);
  auto targets_d = policy.template allocate<T>(targets.size());
  policy.upload(targets_d.data(), targets.data(), targets.size());
  auto dlogits = policy.template allocate<T>(targets.size());

  double loss = 0;
  const auto step = [&] {
    const T* z = net.forward(batch);
    loss = policy.softmax_cross_entropy(batch, net_t::classes, z, targets_d.data(), dlogits.data());
    net.backward(dlogits.data(), batch);
    train::sgd_step(policy, net.optimizer(), net_t::param_count(), net.params(), net.grads(), net.velocity(),
                    net.decay_mask());
  };
  for (int i = 0; i < 3; ++i) step();   // algorithm search, scratch growth
  policy.synchronize();

  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) step();
  policy.synchronize();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  state.counters["img_per_s"] = static_cast<double>(batch) * static_cast<double>(state.iterations()) / seconds;
  state.counters["ms_per_step"] = 1e3 * seconds / static_cast<double>(state.iterations());
  state.counters["loss"] = loss;
  state.counters["batch"] = batch;
}

}  // namespace

BENCHMARK_TEMPLATE(train_step, models::resnet18, bf16)
    ->Name("preact_resnet18/bf16")->Arg(128)->Arg(512)->Iterations(25)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(train_step, models::resnet18, fp32)
    ->Name("preact_resnet18/fp32")->Arg(128)->Iterations(25)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(train_step, models::wide_resnet_28_10, bf16)
    ->Name("wrn28_10/bf16")->Arg(512)->Iterations(10)->UseRealTime()->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
