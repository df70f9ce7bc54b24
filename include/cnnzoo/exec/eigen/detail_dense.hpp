#pragma once
#include "detail_common.hpp"
// Dense layers, the loss and the optimiser: the parts that work on (batch, features) matrices
// and on the flat parameter buffer.
#include <algorithm>
#include <cmath>
#include <cstdint>

namespace cnnzoo::exec::eigen_detail {

// y[n][out] = x[n][in] * w[out][in]^T + b
template <class T>
void dense_forward(int n, int in, int out, const T* x, const T* w, const T* b, T* y) {
  matrix_map<T> ym(y, n, out);
  ym.noalias() = const_matrix_map<T>(x, n, in) * const_matrix_map<T>(w, out, in).transpose();
  if (b) ym.rowwise() += const_vector_map<T>(b, out).transpose();
}

// dw and db (if non-null) are overwritten, dx too when non-null.
template <class T>
void dense_backward(int n, int in, int out, const T* x, const T* w, const T* dy, T* dx, T* dw, T* db) {
  const_matrix_map<T> dym(dy, n, out);
  matrix_map<T>(dw, out, in).noalias() = dym.transpose() * const_matrix_map<T>(x, n, in);
  if (db) vector_map<T>(db, out) = dym.colwise().sum().transpose();
  if (dx) matrix_map<T>(dx, n, in).noalias() = dym * const_matrix_map<T>(w, out, in);
}

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
