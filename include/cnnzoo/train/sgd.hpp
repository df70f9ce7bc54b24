#pragma once
// Stochastic gradient descent with momentum, optional Nesterov, L2 weight decay and gradient
// clipping by global norm, applied in one pass over the flat parameter buffer.
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>

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

}  // namespace cnnzoo::train
