#pragma once
// network<Model, Policy>: a model type bound to an execution policy, with its memory planned.
//
// Construction allocates, once, everything a pass needs for up to `batch` images: the flat
// parameter, gradient and state buffers, the activation arena and its gradient twin, the input,
// the targets and the logit gradients. forward and backward then allocate nothing. The network
// owns memory, initialisation, forward and backward; the training step and the optimiser (with
// its momentum) are train::trainer's (train/step.hpp).
//
//   cnnzoo::network<cnnzoo::models::resnet18, cnnzoo::exec::eigen<float>> net{32};
//   const auto logits = net.logits_host(images, 32);   // host NCHW floats, in the current mode
//   const auto scores = net.infer_host(images, 32);    // inference, no backward after it: fused
//                                                      // where the policy can (graph/fusion.hpp)
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "../core/rng.hpp"
#include "../ops/policy.hpp"
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

  // `init` draws the kernels (part of a training recipe: see graph/part.hpp); the default is the
  // seed's he_normal.
  explicit network(int batch, std::uint64_t seed = 0, P policy = P{}, kernel_init init = kernel_init::he_normal)
      : policy_(std::move(policy)), batch_(batch), gen_(seed) {
    if (batch <= 0) throw std::invalid_argument("cnnzoo: network batch size must be positive, got " + std::to_string(batch));
    const std::size_t b = static_cast<std::size_t>(batch);
    params_ = policy_.template allocate<W>(root::size.params);
    grads_ = policy_.template allocate<W>(root::size.params);
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
    initialize(seed, init);
  }

  // ---- parameters and state ------------------------------------------------------------------
  // Kernels drawn by `init`, zero biases and betas, unit gammas; running means 0, variances 1;
  // gradients 0. The draws depend on the seed and the table only, so every policy starts equal.
  void initialize(std::uint64_t seed, kernel_init init = kernel_init::he_normal) {
    rng g(seed);
    std::vector<W> p(root::size.params), s(root::size.state), mask(root::size.params, W(0));
    for (const tensor_entry& e : table_) {
      W* dst = (e.is_state ? s.data() : p.data()) + e.offset;
      const std::size_t count = e.info.count();
      switch (e.info.init) {
        case init_kind::zeros: std::fill_n(dst, count, W(0)); break;
        case init_kind::ones: std::fill_n(dst, count, W(1)); break;
        case init_kind::kernel: draw_kernel(init, e.info, g, std::span<W>(dst, count)); break;
      }
      if (!e.is_state && e.info.decay) std::fill_n(mask.data() + e.offset, count, W(1));
    }
    policy_.upload(params_.data(), p.data(), p.size());
    policy_.upload(state_.data(), s.data(), s.size());
    policy_.upload(decay_mask_.data(), mask.data(), mask.size());
    std::vector<W> zeros(root::size.params, W(0));
    policy_.upload(grads_.data(), zeros.data(), zeros.size());
  }

  static constexpr std::size_t param_count() noexcept { return root::size.params; }
  static constexpr std::size_t state_count() noexcept { return root::size.state; }
  const std::vector<tensor_entry>& tensors() const noexcept { return table_; }
  W* params() noexcept { return params_.data(); }
  W* grads() noexcept { return grads_.data(); }
  W* state() noexcept { return state_.data(); }
  std::vector<W> download_params() const { return download<W>(params_.data(), root::size.params); }
  std::vector<W> download_grads() const { return download<W>(grads_.data(), root::size.params); }
  std::vector<W> download_state() const { return download<W>(state_.data(), root::size.state); }
  void upload_params(std::span<const W> v) { upload_checked(params_, v, root::size.params, "parameters"); }
  void upload_state(std::span<const W> v) { upload_checked(state_, v, root::size.state, "state"); }

  // ---- run-time switches ---------------------------------------------------------------------
  int batch_capacity() const noexcept { return batch_; }
  P& policy() noexcept { return policy_; }
  const P& policy() const noexcept { return policy_; }
  void set_training(bool on) noexcept { training_ = on; }
  bool training() const noexcept { return training_; }
  run_options& options() noexcept { return options_; }
  rng& generator() noexcept { return gen_; }

  // ---- the passes, on data already in policy memory --------------------------------------------
  // The input buffer (n images, policy layout) that forward() reads.
  T* input() noexcept { return input_.data(); }
  // Logits (n x classes) in policy memory, valid until the next forward. Dropout and drop-path
  // masks take a fresh seed from generator().
  const T* forward(int n) { return forward_seeded(n, gen_()); }
  // The same with the masks' seed given: a device step passes 0, and the policy XORs every key
  // with the step's own seed from policy memory (ops/policy.hpp, set_device_step_active).
  const T* forward_seeded(int n, std::uint64_t seed) {
    check_batch(n);
    step_seed_ = seed;
    root::template forward<P>(make_pass(n), root_slot(n), input_.data());
    return logits(n);
  }
  // An inference forward (running statistics, no dropout) that no backward follows, whatever
  // training() says: adjacent parts the policy can fuse run as one op (graph/fusion.hpp), and the
  // outputs between them are left unwritten. Logits as forward's; the training switch is unchanged.
  const T* infer(int n) {
    check_batch(n);
    step_seed_ = 0;   // inference draws no masks
    pass<P> ps = make_pass(n);
    ps.training = false;
    ps.fused = true;
    root::template forward<P>(ps, root_slot(n), input_.data());
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
  // infer() on host images: the logits, n x classes.
  std::vector<T> infer_host(const float* images, int n) {
    set_input(images, n);
    return download(infer(n), static_cast<std::size_t>(n) * classes);
  }
  std::vector<int> predict(const float* images, int n) {
    const std::vector<T> z = infer_host(images, n);
    std::vector<int> out(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
      const T* row = z.data() + static_cast<std::size_t>(i) * classes;
      out[static_cast<std::size_t>(i)] = static_cast<int>(std::max_element(row, row + classes) - row);
    }
    return out;
  }

  // ---- what a training step reads and writes (train/step.hpp) -----------------------------------
  // Soft targets (n x classes) and d loss / d logits, in policy memory.
  T* targets() noexcept { return targets_.data(); }
  T* dlogits() noexcept { return dlogits_.data(); }
  const W* decay_mask() const noexcept { return decay_mask_.data(); }
  // Writes n rows of soft targets from the host.
  void set_targets(const T* host, int n) {
    check_batch(n);
    policy_.upload(targets_.data(), host, static_cast<std::size_t>(n) * classes);
  }
  // Throws unless 1 <= n <= the planned batch.
  void check_batch(int n) const {
    if (n <= 0 || n > batch_)
      throw std::invalid_argument("cnnzoo: batch of " + std::to_string(n) + " images, but this network was planned for 1.." +
                                  std::to_string(batch_) + "; construct it with a larger batch");
  }

private:
  static void draw_kernel(kernel_init init, const tensor_info& t, rng& g, std::span<W> dst) {
    if (init == kernel_init::he_normal) {
      // A normal truncated at 2 sigma has 0.8796 of the untruncated standard deviation; Keras
      // widens it by that factor so that the variance is 2 / fan_in.
      const double stddev = std::sqrt(2.0 / t.fan_in()) / 0.87962566103423978;
      for (W& w : dst) w = static_cast<W>(stddev * g.truncated_normal());
    } else {
      const double limit = std::sqrt(6.0 / (t.fan_in() + t.fan_out()));
      for (W& w : dst) w = static_cast<W>(g.uniform(-limit, limit));
    }
  }

  using tbuf = typename P::template buffer<T>;
  using wbuf = typename P::template buffer<W>;

  pass<P> make_pass(int n) { return pass<P>{policy_, n, training_, step_seed_, act_.data(), options_}; }
  slot_t<P> root_slot(int) noexcept {
    return {params_.data(), grads_.data(), state_.data(), act_.data(), dact_.data(), aux_.data()};
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
  std::uint64_t step_seed_ = 0;
  std::vector<tensor_entry> table_;
  wbuf params_, grads_, decay_mask_, state_, aux_;
  tbuf act_, dact_, input_, targets_, dlogits_;
  std::vector<T> host_;
};

}  // namespace cnnzoo
