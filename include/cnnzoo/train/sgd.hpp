#pragma once
// Stochastic gradient descent with momentum, optional Nesterov, L2 weight decay and gradient
// clipping by global norm, applied in one pass over the flat parameter buffer. The optimiser owns
// its state (the momentum buffer); the network owns the parameters and their gradients.
#include <cmath>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "../ops/policy.hpp"

namespace cnnzoo::train {

struct sgd_options {
  double lr = 0.1;
  double momentum = 0.9;
  bool nesterov = true;
  double weight_decay = 5e-4;   // L2 on convolution and dense kernels (the decay mask)
  double clip_norm = 0.0;       // > 0: scale gradients so their global L2 norm is at most this

  void validate() const {
    if (!(lr >= 0) || !std::isfinite(lr)) throw std::invalid_argument("cnnzoo: sgd learning rate must be >= 0, got " + std::to_string(lr));
    if (momentum < 0 || momentum >= 1) throw std::invalid_argument("cnnzoo: sgd momentum must be in [0, 1), got " + std::to_string(momentum));
    if (nesterov && momentum == 0) throw std::invalid_argument("cnnzoo: Nesterov momentum needs momentum > 0");
    if (weight_decay < 0) throw std::invalid_argument("cnnzoo: weight decay must be >= 0");
    if (clip_norm < 0) throw std::invalid_argument("cnnzoo: clip norm must be >= 0");
  }
};

// One update over buffers in policy memory. Returns the gradients' global norm (before clipping)
// when clipping is on, else 0 (computing it costs a pass over the gradients).
template <class P, class W>
double sgd_step(P& policy, const sgd_options& o, std::size_t count, W* w, const W* grad, W* velocity,
                const W* decay_mask, double grad_scale = 1.0) {
  double norm = 0, scale = grad_scale;
  if (o.clip_norm > 0) {
    norm = std::sqrt(policy.sum_of_squares(count, grad)) * grad_scale;
    if (norm > o.clip_norm) scale *= o.clip_norm / norm;
  }
  policy.sgd_update(count, w, grad, velocity, decay_mask, o.lr, o.momentum, o.weight_decay, o.nesterov, scale);
  return norm;
}

// The optimiser of a network's flat buffers on policy P: its options, and its momentum in policy
// memory (zero at the start).
template <class P>
  requires ops::execution_policy<P>
class sgd {
public:
  using W = typename P::weight_type;

  sgd(const P& policy, std::size_t count) : velocity_(policy.template allocate<W>(count)), count_(count) {
    reset(policy);
  }

  sgd_options& options() noexcept { return options_; }
  const sgd_options& options() const noexcept { return options_; }
  std::size_t count() const noexcept { return count_; }

  // One update of params from grads (host-driven: the learning rate is options().lr). Returns the
  // gradients' global norm when clipping is on, else 0.
  double step(const P& policy, W* params, const W* grads, const W* decay_mask, double grad_scale = 1.0) {
    return sgd_step(policy, options_, count_, params, grads, velocity_.data(), decay_mask, grad_scale);
  }
  // The same update queued by a device step: learning rate and clipping factor from policy memory,
  // skipped after a non-finite loss (ops::device_step_policy).
  void step_device(const P& policy, W* params, const W* grads, const W* decay_mask)
    requires ops::device_step_policy<P>
  {
    policy.sgd_update_device(count_, params, grads, velocity_.data(), decay_mask, options_.momentum,
                             options_.weight_decay, options_.nesterov, options_.clip_norm);
  }

  // The momentum, for checkpoints.
  std::vector<W> download_velocity(const P& policy) const {
    std::vector<W> host(count_);
    policy.download(host.data(), velocity_.data(), count_);
    return host;
  }
  void upload_velocity(const P& policy, std::span<const W> v) {
    if (v.size() != count_)
      throw std::invalid_argument("cnnzoo: momentum has " + std::to_string(v.size()) + " values, this model needs " +
                                  std::to_string(count_));
    policy.upload(velocity_.data(), v.data(), v.size());
  }
  void reset(const P& policy) {
    const std::vector<W> zeros(count_, W(0));
    policy.upload(velocity_.data(), zeros.data(), zeros.size());
  }
  W* velocity() noexcept { return velocity_.data(); }

private:
  sgd_options options_{};
  typename P::template buffer<W> velocity_;
  std::size_t count_;
};

}  // namespace cnnzoo::train
