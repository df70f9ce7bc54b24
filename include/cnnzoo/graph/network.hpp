#pragma once
// network<Model, Policy>: a model type bound to an execution policy, with its memory planned.
//
// Construction allocates, once, everything a step needs for up to `batch` images: the flat
// parameter, gradient, momentum and state buffers, the activation arena and its gradient twin,
// the input, targets and logit gradients. forward, backward and train_step then allocate nothing.
//
//   cnnzoo::network<cnnzoo::models::resnet18, cnnzoo::exec::eigen<float>> net{32};
//   float loss = net.train_step(images, labels, 32);   // host NCHW floats, labels 0..9
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "../core/rng.hpp"
#include "../ops/policy.hpp"
#include "../train/sgd.hpp"
#include "model.hpp"

namespace cnnzoo {

// The contract a policy meets (ops/policy.hpp), named where users meet it.
using ops::device_step_policy;
using ops::execution_policy;

template <model M, class P>
class network {
  // One family at a time, so that a policy missing ops is told which, first and in one line.
  static_assert(requires { typename P::value_type; typename P::weight_type; },
                "cnnzoo: an execution policy declares value_type (activations) and weight_type (parameters); see ops/policy.hpp");
  static_assert(ops::memory_ops<P>, "cnnzoo: the execution policy lacks a memory op (buffer, allocate, upload, "
                                    "download, synchronize, bind_parameters; see ops/policy.hpp)");
  static_assert(ops::conv_norm_activation_ops<P>, "cnnzoo: the execution policy lacks a convolution, BatchNorm or "
                                                  "activation op (see ops/policy.hpp)");
  static_assert(ops::pool_dense_ops<P>, "cnnzoo: the execution policy lacks a pooling, dense or flatten op (see ops/policy.hpp)");
  static_assert(ops::elementwise_ops<P>, "cnnzoo: the execution policy lacks an elementwise, channel-block, mask or "
                                         "render_batch op (see ops/policy.hpp)");
  static_assert(ops::attention_ops<P>, "cnnzoo: the execution policy lacks an attention op (channel pooling, spatial "
                                       "scaling, softmax; see ops/policy.hpp)");
  static_assert(ops::loss_optimizer_ops<P>, "cnnzoo: the execution policy lacks a loss or optimiser op "
                                            "(softmax_cross_entropy, sum_of_squares, sgd_update; see ops/policy.hpp)");

public:
  using model_type = M;
  using policy_type = P;
  using root = bound_model<M>;
  using T = value_t<P>;
  using W = weight_t<P>;
  static constexpr shape input_shape = root::in;
  static constexpr shape output_shape = root::out;
  static constexpr int classes = output_shape.c;
  static_assert(output_shape.h == 1 && output_shape.w == 1,
                "cnnzoo: a network's model must end in a flat (classes, 1, 1) output");

  explicit network(int batch, std::uint64_t seed = 0, P policy = P{})
      : policy_(std::move(policy)), batch_(batch), gen_(seed) {
    if (batch <= 0) throw std::invalid_argument("cnnzoo: network batch size must be positive, got " + std::to_string(batch));
    const std::size_t b = static_cast<std::size_t>(batch);
    params_ = policy_.template allocate<W>(root::size.params);
    grads_ = policy_.template allocate<W>(root::size.params);
    velocity_ = policy_.template allocate<W>(root::size.params);
    decay_mask_ = policy_.template allocate<W>(root::size.params);
    state_ = policy_.template allocate<W>(root::size.state);
    aux_ = policy_.template allocate<W>(root::size.aux);
    act_ = policy_.template allocate<T>(root::size.act * b);
    dact_ = policy_.template allocate<T>(root::size.act * b);
    input_ = policy_.template allocate<T>(input_shape.size() * b);
    targets_ = policy_.template allocate<T>(static_cast<std::size_t>(classes) * b);
    dlogits_ = policy_.template allocate<T>(static_cast<std::size_t>(classes) * b);
    table_ = tensor_table<M>();
    // A policy that computes from a lower-precision copy of the weights (CUDA bf16/fp16) learns
    // here where the master parameters and their gradients live.
    if constexpr (requires { policy_.bind_parameters(params_.data(), grads_.data(), root::size.params); })
      policy_.bind_parameters(params_.data(), grads_.data(), root::size.params);
    initialize(seed);
  }

  // ---- parameters and state ------------------------------------------------------------------
  // He-normal kernels (Keras' truncated normal, stddev sqrt(2 / fan_in)), zero biases and betas,
  // unit gammas; running means 0, variances 1; momentum 0.
  void initialize(std::uint64_t seed) {
    rng g(seed);
    std::vector<W> p(root::size.params), s(root::size.state), mask(root::size.params, W(0));
    for (const tensor_entry& e : table_) {
      W* dst = (e.is_state ? s.data() : p.data()) + e.offset;
      const std::size_t count = e.info.count();
      switch (e.info.init) {
        case init_kind::zeros: std::fill_n(dst, count, W(0)); break;
        case init_kind::ones: std::fill_n(dst, count, W(1)); break;
        case init_kind::he_normal: {
          // Keras draws from a normal truncated at 2 sigma and widens it so the variance is 2 / fan_in.
          const double stddev = std::sqrt(2.0 / e.info.fan_in) / 0.87962566103423978;
          for (std::size_t i = 0; i < count; ++i) dst[i] = static_cast<W>(stddev * g.truncated_normal());
          break;
        }
      }
      if (!e.is_state && e.info.decay) std::fill_n(mask.data() + e.offset, count, W(1));
    }
    policy_.upload(params_.data(), p.data(), p.size());
    policy_.upload(state_.data(), s.data(), s.size());
    policy_.upload(decay_mask_.data(), mask.data(), mask.size());
    std::vector<W> zeros(root::size.params, W(0));
    policy_.upload(velocity_.data(), zeros.data(), zeros.size());
    policy_.upload(grads_.data(), zeros.data(), zeros.size());
  }

  static constexpr std::size_t param_count() noexcept { return root::size.params; }
  static constexpr std::size_t state_count() noexcept { return root::size.state; }
  const std::vector<tensor_entry>& tensors() const noexcept { return table_; }
  W* params() noexcept { return params_.data(); }
  W* grads() noexcept { return grads_.data(); }
  W* velocity() noexcept { return velocity_.data(); }
  W* state() noexcept { return state_.data(); }
  const W* decay_mask() const noexcept { return decay_mask_.data(); }
  std::vector<W> download_params() const { return download<W>(params_.data(), root::size.params); }
  std::vector<W> download_grads() const { return download<W>(grads_.data(), root::size.params); }
  std::vector<W> download_state() const { return download<W>(state_.data(), root::size.state); }
  std::vector<W> download_velocity() const { return download<W>(velocity_.data(), root::size.params); }
  void upload_params(std::span<const W> v) { upload_checked(params_, v, root::size.params, "parameters"); }
  void upload_state(std::span<const W> v) { upload_checked(state_, v, root::size.state, "state"); }
  void upload_velocity(std::span<const W> v) { upload_checked(velocity_, v, root::size.params, "momentum"); }

  // ---- run-time switches ---------------------------------------------------------------------
  int batch_capacity() const noexcept { return batch_; }
  P& policy() noexcept { return policy_; }
  void set_training(bool on) noexcept { training_ = on; }
  bool training() const noexcept { return training_; }
  run_options& options() noexcept { return options_; }
  train::sgd_options& optimizer() noexcept { return sgd_; }
  rng& generator() noexcept { return gen_; }

  // ---- the passes, on data already in policy memory --------------------------------------------
  // The input buffer (n images, policy layout) that forward() reads.
  T* input() noexcept { return input_.data(); }
  // Logits (n x classes) in policy memory, valid until the next forward.
  const T* forward(int n) {
    check_batch(n);
    step_seed_ = gen_();
    root::template forward<P>(make_pass(n), root_slot(n), input_.data());
    return logits(n);
  }
  const T* logits(int n) noexcept { return act_.data() + root::out_at * static_cast<std::size_t>(n); }
  // Gradients of every parameter (overwritten) from d loss / d logits in policy memory.
  void backward(const T* dlogits, int n) {
    check_batch(n);
    root::template backward<P>(make_pass(n), root_slot(n), input_.data(), dlogits, nullptr);
  }
  // Also the gradient with respect to the input (for gradient checks and attribution).
  void backward(const T* dlogits, int n, T* dinput) {
    check_batch(n);
    root::template backward<P>(make_pass(n), root_slot(n), input_.data(), dlogits, dinput);
  }

  // ---- host convenience: NCHW float images, integer labels --------------------------------------
  void set_input(const float* images, int n) {
    check_batch(n);
    // (n > 0 after check_batch; spelled out so that GCC 12 sees no negative size in the copy)
    const std::size_t count = static_cast<std::size_t>(n > 0 ? n : 0) * input_shape.size();
    if constexpr (std::is_same_v<T, float>) {
      policy_.upload(input_.data(), images, count);
    } else {
      host_.assign(images, images + count);
      policy_.upload(input_.data(), host_.data(), count);
    }
  }
  std::vector<T> logits_host(const float* images, int n) {
    set_input(images, n);
    return download(forward(n), static_cast<std::size_t>(n) * classes);
  }
  std::vector<int> predict(const float* images, int n) {
    const bool was = training_;
    training_ = false;
    const std::vector<T> z = logits_host(images, n);
    training_ = was;
    std::vector<int> out(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
      const T* row = z.data() + static_cast<std::size_t>(i) * classes;
      out[static_cast<std::size_t>(i)] = static_cast<int>(std::max_element(row, row + classes) - row);
    }
    return out;
  }

  // One SGD step on hard labels with label smoothing eps: returns the mean loss before the step.
  double train_step(const float* images, const int* labels, int n, double label_smoothing = 0.0) {
    check_batch(n);
    std::vector<T>& t = targets_host_;
    t.assign(static_cast<std::size_t>(n) * classes, static_cast<T>(label_smoothing / classes));
    for (int i = 0; i < n; ++i) {
      if (labels[i] < 0 || labels[i] >= classes)
        throw std::out_of_range("cnnzoo: label " + std::to_string(labels[i]) + " of image " + std::to_string(i) +
                                " is outside 0.." + std::to_string(classes - 1));
      t[static_cast<std::size_t>(i) * classes + static_cast<std::size_t>(labels[i])] += static_cast<T>(1.0 - label_smoothing);
    }
    return train_step_soft(images, t.data(), n);
  }
  // One SGD step on soft targets (n x classes rows summing to 1, e.g. from mixup).
  double train_step_soft(const float* images, const T* targets_host, int n) {
    set_input(images, n);
    return train_step_on_input(targets_host, n);
  }
  // The same, on the n images already in input() (written there by the policy, e.g. by its
  // render_batch augmentation).
  double train_step_on_input(const T* targets_host, int n) {
    check_batch(n);
    policy_.upload(targets_.data(), targets_host, static_cast<std::size_t>(n) * classes);
    const bool was = training_;
    training_ = true;
    const T* z = forward(n);
    const double loss = policy_.softmax_cross_entropy(n, classes, z, targets_.data(), dlogits_.data());
    backward(dlogits_.data(), n);
    training_ = was;
    if (!std::isfinite(loss)) return loss;   // the caller decides; parameters are untouched
    train::sgd_step(policy_, sgd_, root::size.params, params_.data(), grads_.data(), velocity_.data(),
                    decay_mask_.data());
    return loss;
  }

  // ---- device steps (device_step_policy: CUDA) ----------------------------------------------------
  // The soft targets (n x classes) that train_step_device reads, in policy memory.
  T* targets() noexcept { return targets_.data(); }
  // One training step on input() and targets(), with `labels` (n bytes in policy memory) for the
  // accuracy count, that never waits for the device: the loss, accuracy and any non-finite step
  // accumulate in the policy (take_step_totals), the learning rate comes from its step inputs
  // (set_step_inputs), and a step with a non-finite loss leaves the parameters alone. It queues
  // the same work every time, so it can be captured into a CUDA graph (graph_stepper.hpp).
  // The optimiser's momentum, decay, Nesterov flag and clipping norm are read here, on the host.
  // Dropout and drop-path masks take their randomness from the step's seed in policy memory (the
  // host-side key is fixed), so a replayed graph draws new masks every step, and eager and
  // replayed steps draw the same ones. A step with a non-finite loss still updates the BatchNorm
  // running statistics in its forward pass, as on the CPU.
  void train_step_device(int n, const std::uint8_t* labels)
    requires device_step_policy<P>
  {
    check_batch(n);
    struct scope {
      P& p;
      network& net;
      bool was;
      ~scope() {
        p.set_device_step_active(false);
        net.training_ = was;
      }
    } guard{policy_, *this, training_};
    policy_.set_device_step_active(true);
    training_ = true;
    step_seed_ = 0;
    root::template forward<P>(make_pass(n), root_slot(n), input_.data());
    policy_.loss_and_accuracy(n, classes, logits(n), targets_.data(), labels, dlogits_.data());
    backward(dlogits_.data(), n);
    policy_.sgd_update_device(root::size.params, params_.data(), grads_.data(), velocity_.data(), decay_mask_.data(),
                              sgd_.momentum, sgd_.weight_decay, sgd_.nesterov, sgd_.clip_norm);
  }

private:
  using tbuf = typename P::template buffer<T>;
  using wbuf = typename P::template buffer<W>;

  pass<P> make_pass(int n) { return pass<P>{policy_, n, training_, step_seed_, act_.data(), options_}; }
  slot_t<P> root_slot(int) noexcept {
    return {params_.data(), grads_.data(), state_.data(), act_.data(), dact_.data(), aux_.data()};
  }
  void check_batch(int n) const {
    if (n <= 0 || n > batch_)
      throw std::invalid_argument("cnnzoo: batch of " + std::to_string(n) + " images, but this network was planned for 1.." +
                                  std::to_string(batch_) + "; construct it with a larger batch");
  }
  template <class U>
  std::vector<U> download(const U* p, std::size_t count) const {
    std::vector<U> host(count);
    policy_.download(host.data(), p, count);
    return host;
  }
  void upload_checked(wbuf& buf, std::span<const W> v, std::size_t want, const char* what) {
    if (v.size() != want)
      throw std::invalid_argument(std::string("cnnzoo: ") + what + " has " + std::to_string(v.size()) +
                                  " values, this model needs " + std::to_string(want));
    policy_.upload(buf.data(), v.data(), v.size());
  }

  P policy_;
  int batch_;
  rng gen_;
  bool training_ = true;
  run_options options_{};
  train::sgd_options sgd_{};
  std::uint64_t step_seed_ = 0;
  std::vector<tensor_entry> table_;
  wbuf params_, grads_, velocity_, decay_mask_, state_, aux_;
  tbuf act_, dact_, input_, targets_, dlogits_;
  std::vector<T> host_, targets_host_;
};

}  // namespace cnnzoo
