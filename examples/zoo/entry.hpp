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

#include <cnnzoo/exec/eigen.hpp>
#include <cnnzoo/data/batch_plan.hpp>
#include <cnnzoo/graph/network.hpp>
#include <cnnzoo/summary.hpp>

#include "registry.hpp"

#if defined(CNNZOO_ZOO_WITH_CUDA)
#include <cnnzoo/exec/cuda.hpp>
#include <cnnzoo/exec/cuda/cudnn_version.hpp>
#include <cnnzoo/graph_stepper.hpp>
#endif

namespace cnnzoo::zoo {

// What runs a network's training steps: graph_stepper for a policy with device steps (CUDA).
struct no_stepper {
  template <class Net> explicit no_stepper(Net&) {}
};
template <class Net, bool device_steps> struct stepper_for { using type = no_stepper; };
#if defined(CNNZOO_ZOO_WITH_CUDA)
template <class Net> struct stepper_for<Net, true> { using type = graph_stepper<Net>; };
#endif

template <model M, class P>
class network_runner final : public runner {
public:
  network_runner(const runner_options& o, std::string device, P policy)
      : net_(o.batch, o.seed, std::move(policy)), device_(std::move(device)) {}

  std::string device() const override { return device_; }
  int batch_capacity() const override { return net_.batch_capacity(); }
  train::sgd_options& optimizer() override { return net_.optimizer(); }
  run_options& options() override { return net_.options(); }
  rng& generator() override { return net_.generator(); }

  void set_training_images(std::span<const std::uint8_t> pixels, std::span<const float> norm) override {
    if constexpr (device_step_policy<P>) {
      stepper().set_images(pixels, norm);
    } else {
      data::check_training_images(pixels, norm, net_t::input_shape.c, net_t::input_shape.size());
      pixels_.assign(pixels.begin(), pixels.end());
      norm_.assign(norm.begin(), norm.end());
    }
  }
  void queue_step(std::span<const ops::image_recipe> recipes, std::span<const float> targets,
                  std::span<const std::uint8_t> labels, std::int64_t step) override {
    if constexpr (device_step_policy<P>) {
      stepper().queue(recipes, targets, labels, step, net_.optimizer().lr);
    } else {
      // The CPU renders on the host and trains at once; the totals are kept here.
      const int n = static_cast<int>(recipes.size());
      if (pixels_.empty()) throw std::logic_error("cnnzoo: queue_step before set_training_images");
      if (n <= 0 || n > net_.batch_capacity() || labels.size() != recipes.size() ||
          targets.size() != recipes.size() * net_t::classes)
        throw std::invalid_argument("cnnzoo: a batch of " + std::to_string(n) + " recipes, " +
                                    std::to_string(labels.size()) + " labels and " + std::to_string(targets.size()) +
                                    " target values, capacity " + std::to_string(net_.batch_capacity()));
      constexpr shape in = net_t::input_shape;
      data::check_recipes(recipes, pixels_.size() / in.size());
      net_.policy().render_batch(ops::render_geometry{in.c, in.h, in.w}, n, recipes.data(), pixels_.data(),
                                 norm_.data(), net_.input());
      targets_.assign(targets.begin(), targets.end());
      const double loss = net_.train_step_on_input(targets_.data(), n);
      ++totals_.steps;
      totals_.last_loss = loss;
      if (!std::isfinite(loss)) {
        if (totals_.bad_steps++ == 0) {
          totals_.first_bad_step = step;
          totals_.first_bad_loss = loss;
        }
        return;
      }
      totals_.loss_sum += loss * n;
      totals_.images += static_cast<unsigned long long>(n);
      const value_t<P>* z = net_.logits(n);
      for (int i = 0; i < n; ++i) {
        const value_t<P>* row = z + static_cast<std::size_t>(i) * net_t::classes;
        totals_.correct += static_cast<std::size_t>(std::max_element(row, row + net_t::classes) - row) ==
                           labels[static_cast<std::size_t>(i)];
      }
    }
  }
  ops::step_totals take_step_totals() override {
    if constexpr (device_step_policy<P>) return stepper().take();
    else return std::exchange(totals_, ops::step_totals{});
  }
  int steps_between_reads() const override { return device_step_policy<P> ? 25 : 1; }
  std::string step_status() const override {
    if constexpr (device_step_policy<P>) return stepper_ ? stepper_->status() : std::string{};
    else return {};
  }
  void predict(const float* images, int n, float* logits) override {
    const bool was = net_.training();
    net_.set_training(false);
    net_.set_input(images, n);
    net_.forward(n);
    net_.set_training(was);
    copy_logits(n, logits);
  }
  std::vector<float> params() const override { return to_float(net_.download_params()); }
  std::vector<float> state() const override { return to_float(net_.download_state()); }
  std::vector<float> velocity() const override { return to_float(net_.download_velocity()); }
  void set_params(const std::vector<float>& v) override { net_.upload_params(from_float(v)); }
  void set_state(const std::vector<float>& v) override { net_.upload_state(from_float(v)); }
  void set_velocity(const std::vector<float>& v) override { net_.upload_velocity(from_float(v)); }
  const std::vector<tensor_entry>& tensors() const override { return net_.tensors(); }

private:
  using net_t = network<M, P>;
  using W = weight_t<P>;
  // CUDA: device steps, graphs per batch size (created on first use).
  using stepper_t = typename stepper_for<net_t, device_step_policy<P>>::type;
  void copy_logits(int n, float* out) {
    const std::size_t count = static_cast<std::size_t>(n) * net_t::classes;
    std::vector<value_t<P>> host(count);
    net_.policy().download(host.data(), net_.logits(n), count);
    for (std::size_t i = 0; i < count; ++i) out[i] = static_cast<float>(host[i]);
  }
  stepper_t& stepper() {
    if (!stepper_) stepper_ = std::make_unique<stepper_t>(net_);
    return *stepper_;
  }
  static std::vector<float> to_float(const std::vector<W>& v) { return {v.begin(), v.end()}; }
  static std::vector<W> from_float(const std::vector<float>& v) { return {v.begin(), v.end()}; }

  net_t net_;
  std::string device_;
  std::vector<value_t<P>> targets_;
  // CPU: the training images and the step totals on the host.
  std::vector<std::uint8_t> pixels_;
  std::vector<float> norm_;
  ops::step_totals totals_;
  std::unique_ptr<stepper_t> stepper_;
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
entry make_entry(std::string name, std::string type, std::string header, int order) {
  entry e;
  e.info = {std::move(name), std::move(type), std::move(header), order, trainable_params<M>, keras_total<M>,
            forward_flops<M>, activations_per_image<M>, model_input<M>};
  const std::string label = e.info.name;
  e.summary = [label](std::ostream& os, int depth) { print_summary<M>(os, label, depth); };
  e.make = [label](const runner_options& o) -> std::unique_ptr<runner> {
    if (o.device == device_kind::cpu) {
      if (o.precision != "fp32")
        throw std::invalid_argument("cnnzoo: the CPU trains in fp32; --precision " + o.precision + " needs --device cuda");
      std::ostringstream d;
      d << "cpu (eigen<float>";
#ifdef _OPENMP
      d << ", " << (o.threads > 0 ? o.threads : omp_get_max_threads()) << " threads";
#endif
      d << ")";
      return std::make_unique<network_runner<M, exec::eigen<float>>>(o, d.str(), exec::eigen<float>(o.threads));
    }
    return make_cuda_runner<M>(o, label);
  };
  return e;
}

}  // namespace cnnzoo::zoo
