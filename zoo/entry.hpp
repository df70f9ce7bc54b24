#pragma once
// Building a registry entry for one model type: its numbers, its summary, and runners on the
// policies this build has.
#include <algorithm>
#include <cmath>
#include <memory>
#include <sstream>
#include <type_traits>
#include <utility>
#include <stdexcept>

#include <cnnzoo/exec/cpu.hpp>
#include <cnnzoo/data/batch_plan.hpp>
#include <cnnzoo/graph/network.hpp>
#include <cnnzoo/graph/summary.hpp>
#include <cnnzoo/train/step.hpp>

#include "registry.hpp"

#if defined(CNNZOO_ZOO_WITH_CUDA)
#include <cnnzoo/exec/cuda.hpp>
#include <cnnzoo/exec/cuda/cudnn_version.hpp>
#include <cnnzoo/train/graph_step.hpp>
#endif

namespace cnnzoo::zoo {

// The step that trains a network: the CUDA-graph variant where the policy has device steps.
template <class Net, bool device_steps> struct trainer_for { using type = train::trainer<Net>; };
#if defined(CNNZOO_ZOO_WITH_CUDA)
template <class Net> struct trainer_for<Net, true> { using type = train::graph_trainer<Net>; };
#endif

// A network and its trainer behind the registry's runner interface.
template <model M, class P>
class network_runner final : public runner {
public:
  network_runner(const runner_options& o, std::string device, P policy)
      : net_(o.batch, o.seed, std::move(policy), o.init), trainer_(net_), device_(std::move(device)) {}

  std::string device() const override { return device_; }
  int batch_capacity() const override { return net_.batch_capacity(); }
  train::sgd_options& optimizer() override { return trainer_.options(); }
  run_options& options() override { return net_.options(); }
  rng& generator() override { return net_.generator(); }

  void set_training_images(std::span<const std::uint8_t> pixels, std::span<const float> norm) override {
    trainer_.set_images(pixels, norm);
  }
  void queue_step(std::span<const ops::image_recipe> recipes, std::span<const float> targets,
                  std::span<const std::uint8_t> labels, std::int64_t step) override {
    trainer_.queue(recipes, targets, labels, step, trainer_.options().lr);
  }
  ops::step_totals take_step_totals() override { return trainer_.take(); }
  int steps_between_reads() const override { return device_step_policy<P> ? 25 : 1; }
  std::string step_status() const override { return trainer_.status(); }
  void predict(const float* images, int n, float* logits) override {
    net_.set_input(images, n);
    // Inference draws no masks, and takes nothing from the generator: the ranks of a job evaluate
    // different numbers of batches, and their generators must stay equal.
    net_.infer(n);
    copy_logits(n, logits);
  }
  double loss_and_gradients(const float* images, int n, const float* targets, bool training, float* logits,
                            std::vector<float>& gradients) override {
    const bool was = net_.training();
    net_.set_training(training);
    net_.set_input(images, n);
    net_.forward(n);
    copy_logits(n, logits);
    const std::vector<value_t<P>> t(targets, targets + static_cast<std::size_t>(n) * net_t::classes);
    net_.set_targets(t.data(), n);
    const double loss = net_.policy().softmax_cross_entropy(n, net_t::classes, net_.logits(n), net_.targets(), net_.dlogits());
    net_.backward(net_.dlogits(), n);
    net_.set_training(was);
    gradients = to_float(net_.download_grads());
    return loss;
  }
  std::vector<float> params() const override { return to_float(net_.download_params()); }
  std::vector<float> state() const override { return to_float(net_.download_state()); }
  std::vector<float> velocity() const override {
    return to_float(trainer_.optimizer().download_velocity(net_.policy()));
  }
  void set_params(const std::vector<float>& v) override { net_.upload_params(from_float(v)); }
  void set_state(const std::vector<float>& v) override { net_.upload_state(from_float(v)); }
  void set_velocity(const std::vector<float>& v) override {
    trainer_.optimizer().upload_velocity(net_.policy(), from_float(v));
  }
  const std::vector<tensor_entry>& tensors() const override { return net_.tensors(); }
  bool set_gradient_exchange(dist::gradient_exchange* exchange) override {
    if constexpr (device_step_policy<P>) {
      return exchange == nullptr;
    } else {
      trainer_.set_gradient_exchange(exchange);
      return true;
    }
  }
  bool set_batch_norm_sync(dist::communicator* ranks) override {
    if constexpr (requires(P& p) { p.set_batch_norm_sync(ranks); }) {
      net_.policy().set_batch_norm_sync(ranks);
      return true;
    } else {
      return ranks == nullptr;
    }
  }

private:
  using net_t = network<M, P>;
  using trainer_t = typename trainer_for<net_t, device_step_policy<P>>::type;
  using W = weight_t<P>;
  void copy_logits(int n, float* out) {
    const std::size_t count = static_cast<std::size_t>(n) * net_t::classes;
    std::vector<value_t<P>> host(count);
    net_.policy().download(host.data(), net_.logits(n), count);
    for (std::size_t i = 0; i < count; ++i) out[i] = static_cast<float>(host[i]);
  }
  static std::vector<float> to_float(const std::vector<W>& v) { return {v.begin(), v.end()}; }
  static std::vector<W> from_float(const std::vector<float>& v) { return {v.begin(), v.end()}; }

  net_t net_;
  trainer_t trainer_;
  std::string device_;
};

#if defined(CNNZOO_ZOO_WITH_CUDA)
template <model M>
std::unique_ptr<runner> make_cuda_network_runner(const runner_options& o, const std::string& name) {
  if (!exec::cuda_available())
    throw std::runtime_error("cnnzoo: " + name + " cannot run on CUDA: " + exec::cuda_unavailable_reason() +
                             "; use --device cpu");
  // "cuda bf16 (bf16 tensor cores, fp32 accumulation; NVIDIA H200 (sm_90, 139.8 GiB); cuDNN 9.19.0 loaded from ...)"
  const auto device = [&](const auto& policy) {
    return "cuda " + o.precision + " (" + std::string(policy.math_mode()) + "; " + exec::cuda_device_description() +
           "; " + exec::cudnn_library().describe() + ")";
  };
  const auto make = [&]<class P>(exec::cuda<P> policy) -> std::unique_ptr<runner> {
    const std::string d = device(policy);
    return std::make_unique<network_runner<M, exec::cuda<P>>>(o, d, std::move(policy));
  };
  if (o.precision == "bf16") return make(exec::cuda<bf16>{});
  if (o.precision == "fp16") return make(exec::cuda<fp16>{});
  if (o.precision == "fp32") return make(exec::cuda<fp32>{});
  if (o.precision == "tf32") return make(exec::cuda<fp32>(exec::cuda_options{.tf32 = true}));
  throw std::invalid_argument("cnnzoo: unknown precision '" + o.precision + "' (fp32, tf32, bf16 or fp16)");
}
#endif

// The CUDA runner is built only where the CUDA policy is; elsewhere asking for it explains why not.
template <model M>
std::unique_ptr<runner> make_cuda_runner(const runner_options& o, const std::string& name) {
#if defined(CNNZOO_ZOO_WITH_CUDA)
  return make_cuda_network_runner<M>(o, name);
#else
  (void)o;
  throw std::runtime_error("cnnzoo: " + name + " cannot run on CUDA: this build has no CUDA policy (configure "
                           "where nvcc and cuDNN 9 are installed, CNNZOO_CUDA=AUTO or ON); use --device cpu");
#endif
}

template <model M>
entry make_entry(table_row row) {
  entry e;
  e.info = {std::move(row), trainable_params<M>, keras_total<M>, forward_flops<M>, activations_per_image<M>,
            model_input<M>};
  const std::string label = e.info.name;
  e.summary = [label](std::ostream& os, int depth) { print_summary<M>(os, label, depth); };
  e.tensors = [] { return tensor_table<M>(); };
  e.make = [label](const runner_options& o) -> std::unique_ptr<runner> {
    if (o.device == device_kind::cpu) {
      if (o.precision != "fp32")
        throw std::invalid_argument("cnnzoo: the CPU trains in fp32; --precision " + o.precision + " needs --device cuda");
      exec::cpu policy(o.threads);
      std::ostringstream d;
      d << "cpu (" << exec::cpu::name << ": " << policy.describe();
#ifdef _OPENMP
      d << ", " << (o.threads > 0 ? o.threads : omp_get_max_threads()) << " threads";
#endif
      d << ")";
      return std::make_unique<network_runner<M, exec::cpu>>(o, d.str(), std::move(policy));
    }
    return make_cuda_runner<M>(o, label);
  };
  return e;
}

}  // namespace cnnzoo::zoo
