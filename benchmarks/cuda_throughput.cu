// Training-step throughput of the CUDA policy (Google Benchmark), the figures that
// scripts/gpu-check.sh sets beside the PyTorch peer's (torch_zoo.py --bench, the same networks):
// ResNet18 at batch 128 and 512 and WideResNet (28-10) at batch 512 in bf16, and ResNet18 at batch
// 128 in fp32 (no TF32) and in tf32. Every row's label names the math mode it ran. A step is forward, label-smoothed
// softmax cross-entropy, backward and the SGD-Nesterov update; img_per_s is measured between two
// device synchronisations. Two ways of running it:
//   .../graph  what cnnzoo-train does (train::graph_trainer): the batch is rendered on the GPU from
//              8-bit images already there (no augmentation drawn, as the peer has none), the loss
//              stays on the device, and the step is a CUDA graph replayed with one launch;
//   .../eager  network::forward, softmax_cross_entropy (which waits for the loss), backward and
//              the optimiser's step, launched op by op, on float images already on the device.
//
//   cuda_throughput --benchmark_format=json > cnnzoo.json     (scripts/gpu-check.sh runs this)
//
// One .cu file: it carries the policy's device code too (kernels.hpp), so it builds with a single
// nvcc command where CMake is not at hand.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <cnnzoo/exec/cuda/kernels.hpp>
#include <cnnzoo/models/resnet.hpp>
#include <cnnzoo/models/wide_resnet.hpp>
#include <cnnzoo/train/graph_step.hpp>

namespace {

using namespace cnnzoo;

template <class P>
bool have_device(benchmark::State& state) {
  if (exec::cuda_available()) return true;
  state.SkipWithError(("no CUDA device: " + exec::cuda_unavailable_reason()).c_str());
  for (auto _ : state) {}
  return false;
}

template <class Net>
void report(benchmark::State& state, double seconds, int batch, double loss) {
  state.counters["img_per_s"] = static_cast<double>(batch) * static_cast<double>(state.iterations()) / seconds;
  state.counters["ms_per_step"] = 1e3 * seconds / static_cast<double>(state.iterations());
  state.counters["loss"] = loss;
  state.counters["batch"] = batch;
}

// The policy of a row: tf32 is cuda<fp32> with TF32 tensor cores allowed.
template <class Precision, bool TF32>
exec::cuda<Precision> policy_for() {
  return exec::cuda<Precision>(exec::cuda_options{.tf32 = TF32});
}

template <class M, class Precision, bool TF32 = false>
void eager_step(benchmark::State& state) {
  using P = exec::cuda<Precision>;
  using T = typename P::value_type;
  using net_t = network<M, P>;
  const int batch = static_cast<int>(state.range(0));
  if (!have_device<P>(state)) return;
  net_t net(batch, 1, policy_for<Precision, TF32>());
  P& policy = net.policy();
  train::sgd<P> optimizer(policy, net_t::param_count());
  optimizer.options().lr = 0.05;   // the peer's settings: SGD, momentum 0.9, Nesterov, weight decay 5e-4

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
    optimizer.step(policy, net.params(), net.grads(), net.decay_mask());
  };
  for (int i = 0; i < 3; ++i) step();   // algorithm search, scratch growth
  policy.synchronize();

  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) step();
  policy.synchronize();
  report<net_t>(state, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), batch, loss);
  state.SetLabel(std::string(policy.math_mode()));
}

template <class M, class Precision, bool TF32 = false>
void graph_step(benchmark::State& state) {
  using P = exec::cuda<Precision>;
  using net_t = network<M, P>;
  const int batch = static_cast<int>(state.range(0));
  if (!have_device<P>(state)) return;
  net_t net(batch, 1, policy_for<Precision, TF32>());
  train::graph_trainer<net_t> steps(net);
  steps.options().lr = 0.05;

  // Four batches' worth of random 8-bit images, on the GPU once; per step only the recipes,
  // targets and labels go up.
  rng g(7);
  const std::size_t image = net_t::input_shape.size(), set = 4 * static_cast<std::size_t>(batch);
  std::vector<std::uint8_t> pixels(set * image);
  for (auto& p : pixels) p = static_cast<std::uint8_t>(g.below(256));
  const std::vector<float> norm{127.5f, 1 / 64.0f, 127.5f, 1 / 64.0f, 127.5f, 1 / 64.0f};
  steps.set_images(pixels, norm);
  std::vector<std::vector<ops::image_recipe>> recipes(4, std::vector<ops::image_recipe>(static_cast<std::size_t>(batch)));
  for (std::size_t b = 0; b < 4; ++b)
    for (std::size_t i = 0; i < recipes[b].size(); ++i) recipes[b][i].source = static_cast<std::uint32_t>(b * batch + i);
  std::vector<std::uint8_t> labels(static_cast<std::size_t>(batch));
  std::vector<float> targets(labels.size() * net_t::classes, 0.1f / net_t::classes);
  for (std::size_t i = 0; i < labels.size(); ++i) {
    labels[i] = static_cast<std::uint8_t>(g.below(net_t::classes));
    targets[i * net_t::classes + labels[i]] += 0.9f;
  }

  std::int64_t step = 0;
  for (int i = 0; i < 4; ++i, ++step) steps.queue(recipes[step % 4], targets, labels, step, 0.05);   // eager, capture
  steps.take();

  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    steps.queue(recipes[step % 4], targets, labels, step, 0.05);
    ++step;
  }
  const ops::step_totals t = steps.take();
  report<net_t>(state, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), batch,
                t.mean_loss());
  state.SetLabel(std::string(net.policy().math_mode()) + "; " + steps.status());
}

}  // namespace

// Names are MODEL/PRECISION/MODE, MODEL as in the zoo table and in torch_zoo.py.
#define CNNZOO_BENCH(fn, name, iterations, batch, ...)                                                  \
  BENCHMARK_TEMPLATE(fn, __VA_ARGS__)                                                                    \
      ->Name(name)->Args({batch})->Iterations(iterations)->UseRealTime()->Unit(benchmark::kMillisecond)

CNNZOO_BENCH(graph_step, "ResNet18/bf16/graph", 50, 128, models::resnet18, bf16);
CNNZOO_BENCH(graph_step, "ResNet18/bf16/graph", 25, 512, models::resnet18, bf16);
CNNZOO_BENCH(graph_step, "ResNet18/fp32/graph", 25, 128, models::resnet18, fp32);
CNNZOO_BENCH(graph_step, "ResNet18/tf32/graph", 25, 128, models::resnet18, fp32, true);
CNNZOO_BENCH(graph_step, "WideResNet/bf16/graph", 10, 512, models::wide_resnet_28_10, bf16);
CNNZOO_BENCH(eager_step, "ResNet18/bf16/eager", 25, 128, models::resnet18, bf16);
CNNZOO_BENCH(eager_step, "ResNet18/bf16/eager", 25, 512, models::resnet18, bf16);
CNNZOO_BENCH(eager_step, "WideResNet/bf16/eager", 10, 512, models::wide_resnet_28_10, bf16);

BENCHMARK_MAIN();
