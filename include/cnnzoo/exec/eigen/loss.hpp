#pragma once
#include "common.hpp"
// The loss and the optimiser: softmax cross-entropy over (batch, classes) logits, and SGD over the
// flat parameter buffer.
#include <algorithm>
#include <cmath>
#include <cstdint>

namespace cnnzoo::exec::eigen_detail {

// Mean softmax cross-entropy over the batch against soft targets (rows summing to 1); writes
// d loss / d logits and returns the loss.
template <class T>
double softmax_cross_entropy(int n, int classes, const T* logits, const T* targets, T* dlogits) {
  double total = 0;
  for (int i = 0; i < n; ++i) {
    const T* z = logits + static_cast<std::ptrdiff_t>(i) * classes;
    const T* t = targets + static_cast<std::ptrdiff_t>(i) * classes;
    T* d = dlogits + static_cast<std::ptrdiff_t>(i) * classes;
    const double zmax = *std::max_element(z, z + classes);
    double sum = 0;
    for (int k = 0; k < classes; ++k) sum += std::exp(static_cast<double>(z[k]) - zmax);
    const double log_sum = zmax + std::log(sum);
    for (int k = 0; k < classes; ++k) {
      const double logp = static_cast<double>(z[k]) - log_sum;
      total -= static_cast<double>(t[k]) * logp;
      d[k] = static_cast<T>((std::exp(logp) - static_cast<double>(t[k])) / n);
    }
  }
  return total / n;
}

// One SGD step over a flat buffer (PyTorch's formulation):
//   g = grad_scale * grad + weight_decay * decay_mask * w
//   v = momentum * v + g
//   w -= lr * (nesterov ? g + momentum * v : v)
template <class T>
void sgd_update(std::ptrdiff_t count, T* w, const T* grad, T* velocity, const T* decay_mask, double lr,
                double momentum, double weight_decay, bool nesterov, double grad_scale) {
#pragma omp parallel for schedule(static) if (count > parallel_threshold)
  for (std::ptrdiff_t i = 0; i < count; ++i) {
    const double g = grad_scale * grad[i] + weight_decay * (decay_mask ? decay_mask[i] : T(1)) * w[i];
    const double v = momentum * velocity[i] + g;
    velocity[i] = static_cast<T>(v);
    w[i] = static_cast<T>(w[i] - lr * (nesterov ? g + momentum * v : v));
  }
}

}  // namespace cnnzoo::exec::eigen_detail
