// cnnzoo beside libtorch, in one process run, on the same CPU threads: PreAct-ResNet18, WRN-16-4
// and DenseNet100 (BC) of the zoo on the policy cnnzoo-train uses on the CPU (exec::cpu), and the same networks in torch::nn (torch_nets.hpp, checked to
// have the same trainable parameter counts), fp32, NCHW.
//
// What is timed, on both sides, on one fixed batch of synthetic images already in memory:
//   train/<net>/batch:B   one training step: forward in training mode (BatchNorm on batch
//                         statistics, dropout on), softmax cross-entropy, backward, SGD with
//                         Nesterov momentum 0.9 and weight decay 5e-4
//   infer/<net>/batch:B   one inference forward (network::infer: BatchNorm on running statistics,
//                         no dropout, no backward to follow; no autograd in libtorch)
// Wall-clock time; one untimed step first on each side. Each cnnzoo benchmark runs right before
// its libtorch twin, and the program ends with a table of images/s and the ratio cnnzoo/libtorch
// (> 1: cnnzoo is faster). Threads: OMP_NUM_THREADS for both (torch::set_num_threads).
//
//   OMP_NUM_THREADS=2 bench_libtorch_compare                       all 10 pairs
//   OMP_NUM_THREADS=2 bench_libtorch_compare --benchmark_repetitions=3   medians of 3 (the README's)
//   OMP_NUM_THREADS=2 bench_libtorch_compare --benchmark_filter=ResNet18 --benchmark_min_time=2
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "bench_support.hpp"
#include "torch_nets.hpp"

#include <algorithm>
#include <cstdio>
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

#include <cnnzoo/cnnzoo.hpp>
#include <cnnzoo/exec/cpu.hpp>
#include <cnnzoo/models/densenet.hpp>
#include <cnnzoo/models/resnet.hpp>
#include <cnnzoo/models/wide_resnet.hpp>
#include <cnnzoo/train/step.hpp>

namespace {

using namespace cnnzoo;

using cnnzoo::bench::threads;

std::vector<float> synthetic_images(int batch) {
  rng g(7);
  std::vector<float> images(static_cast<std::size_t>(batch) * 3 * 32 * 32);
  for (float& v : images) v = static_cast<float>(g.normal());
  return images;
}
std::vector<int> synthetic_labels(int batch) {
  rng g(11);
  std::vector<int> labels(static_cast<std::size_t>(batch));
  for (int& l : labels) l = static_cast<int>(g.below(10));
  return labels;
}

std::size_t torch_parameters(torch::nn::Module& m) {
  std::size_t n = 0;
  for (const auto& p : m.parameters()) n += static_cast<std::size_t>(p.numel());
  return n;
}

// Refuses to time two networks that are not the same size: the comparison would mean nothing.
template <class Net, class TorchNet>
bool same_size(benchmark::State& state, TorchNet& t) {
  const std::size_t ours = Net::param_count(), theirs = torch_parameters(*t);
  if (ours == theirs) return true;
  state.SkipWithError(("the libtorch network has " + std::to_string(theirs) + " parameters, cnnzoo's " +
                       std::to_string(ours))
                          .c_str());
  return false;
}

void label(benchmark::State& state, const char* who, int batch) {
  state.counters["img/s"] = benchmark::Counter(batch, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::string(who) + ", " + std::to_string(threads()) + " threads, fp32, batch " + std::to_string(batch));
}

template <class M>
void cnnzoo_train(benchmark::State& state, int batch) {
  using net_t = network<M, exec::cpu>;
  net_t net(batch, 1);
  train::trainer trainer(net);
  trainer.options().lr = 0.01;
  trainer.options().momentum = 0.9;
  trainer.options().nesterov = true;
  trainer.options().weight_decay = 5e-4;
  const auto images = synthetic_images(batch);
  const auto labels = synthetic_labels(batch);
  double loss = trainer.train_step(images.data(), labels.data(), batch);
  for (auto _ : state) {
    loss = trainer.train_step(images.data(), labels.data(), batch);
    benchmark::DoNotOptimize(loss);
  }
  label(state, "cnnzoo", batch);
}

template <class M>
void cnnzoo_infer(benchmark::State& state, int batch) {
  using net_t = network<M, exec::cpu>;
  net_t net(batch, 1);
  const auto images = synthetic_images(batch);
  auto logits = net.infer_host(images.data(), batch);
  for (auto _ : state) {
    logits = net.infer_host(images.data(), batch);
    benchmark::DoNotOptimize(logits.data());
  }
  label(state, "cnnzoo", batch);
}

template <class M, class TorchNet, TorchNet (*Make)()>
void torch_train(benchmark::State& state, int batch) {
  TorchNet net = Make();
  if (!same_size<network<M, exec::cpu>>(state, net)) return;
  net->train();
  torch::optim::SGD opt(net->parameters(),
                        torch::optim::SGDOptions(0.01).momentum(0.9).nesterov(true).weight_decay(5e-4));
  auto images = synthetic_images(batch);
  const auto labels32 = synthetic_labels(batch);
  const torch::Tensor x = torch::from_blob(images.data(), {batch, 3, 32, 32}).clone();
  const torch::Tensor y = torch::tensor(std::vector<std::int64_t>(labels32.begin(), labels32.end()));
  auto step = [&] {
    opt.zero_grad();
    torch::Tensor loss = torch::nn::functional::cross_entropy(net->forward(x), y);
    loss.backward();
    opt.step();
    return loss.item<double>();
  };
  double loss = step();
  for (auto _ : state) {
    loss = step();
    benchmark::DoNotOptimize(loss);
  }
  label(state, "libtorch", batch);
}

template <class M, class TorchNet, TorchNet (*Make)()>
void torch_infer(benchmark::State& state, int batch) {
  TorchNet net = Make();
  if (!same_size<network<M, exec::cpu>>(state, net)) return;
  net->eval();
  torch::NoGradGuard no_grad;
  auto images = synthetic_images(batch);
  const torch::Tensor x = torch::from_blob(images.data(), {batch, 3, 32, 32}).clone();
  torch::Tensor logits = net->forward(x);
  for (auto _ : state) {
    logits = net->forward(x);
    benchmark::DoNotOptimize(logits.data_ptr());
  }
  label(state, "libtorch", batch);
}

namespace tn = bench::torch_nets;

// One pair of benchmarks per (pass, network, batch), cnnzoo first.
template <class M, class TorchNet, TorchNet (*Make)()>
void register_pairs(const std::string& name, std::initializer_list<int> batches) {
  for (const int batch : batches) {
    const std::string b = "/batch:" + std::to_string(batch);
    auto add = [&](const std::string& pass, const char* side, void (*fn)(benchmark::State&, int)) {
      benchmark::RegisterBenchmark((pass + "/" + name + b + "/" + side).c_str(), fn, batch)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
    };
    add("train", "cnnzoo", cnnzoo_train<M>);
    add("train", "libtorch", torch_train<M, TorchNet, Make>);
    add("infer", "cnnzoo", cnnzoo_infer<M>);
    add("infer", "libtorch", torch_infer<M, TorchNet, Make>);
  }
}

// The console output, then the ratio of every pair that ran: medians over the repetitions
// (--benchmark_repetitions=N), so that one disturbed run does not decide a ratio.
class ratio_reporter : public benchmark::ConsoleReporter {
public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      if (r.error_occurred || r.run_type != Run::RT_Iteration) continue;
      const std::string& name = r.run_name.function_name;   // pass/network/batch:B/side
      const auto slash = name.rfind('/');
      const auto it = r.counters.find("img/s");
      if (slash == std::string::npos || it == r.counters.end()) continue;
      rates_[name.substr(0, slash)][name.substr(slash + 1)].push_back(it->second.value);
    }
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf("\n%-32s %14s %14s %8s\n", "pass/network/batch", "cnnzoo img/s", "libtorch img/s", "ratio");
    for (const auto& [what, side] : rates_) {
      const auto ours = side.find("cnnzoo"), theirs = side.find("libtorch");
      if (ours == side.end() || theirs == side.end()) continue;
      const double a = median(ours->second), b = median(theirs->second);
      if (b > 0) std::printf("%-32s %14.1f %14.1f %8.2f\n", what.c_str(), a, b, a / b);
    }
  }

private:
  static double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  }
  std::map<std::string, std::map<std::string, std::vector<double>>> rates_;
};

}  // namespace

int main(int argc, char** argv) {
  torch::set_num_threads(threads());
  benchmark::AddCustomContext("cnnzoo.cpu", bench::cpu_name());
  benchmark::AddCustomContext("cnnzoo.threads", std::to_string(threads()) + " (OMP_NUM_THREADS), both sides");
  benchmark::AddCustomContext("cnnzoo.policy", std::string(exec::cpu::name) + ": " + exec::cpu().describe());
  benchmark::AddCustomContext("libtorch", std::string(TORCH_VERSION) + (at::hasMKLDNN() ? ", oneDNN (mkldnn) convolutions" : ", no mkldnn"));
  register_pairs<models::resnet18, tn::preact_resnet, tn::resnet18>("ResNet18", {32, 128});
  register_pairs<models::wide_resnet<16, 4>, tn::preact_resnet, tn::wrn_16_4>("WRN-16-4", {32, 128});
  // Batch 32 only: cnnzoo keeps every dense layer's concatenated input for the backward pass, 7.4 GB
  // of activations at batch 32 (about 30 GB at 128, more than a small machine has).
  register_pairs<models::densenet100, tn::densenet100, tn::make_densenet100>("DenseNet100", {32});
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  ratio_reporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
}
