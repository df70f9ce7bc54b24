#pragma once
#include "common.hpp"
// Batch normalisation over (n, h, w) per channel, NCHW. Statistics are accumulated in double so
// that float and double runs agree to float precision; each channel is one OpenMP task.
#include <cmath>

#include "../vocabulary.hpp"

namespace cnnzoo::exec::eigen_detail {

// sum of term(offset) over the n planes of one channel (plane i starts at first + i * stride),
// in double. Eight running sums, added pairwise at the end, let the compiler vectorise the
// loop: with one running sum every addition waits for the previous one. The order is fixed by
// the shape alone, so results repeat exactly.
template <class Term>
double channel_sum(int n, std::ptrdiff_t first, std::ptrdiff_t stride, std::ptrdiff_t hw, Term term) {
  constexpr int lanes = 8;
  double acc[lanes] = {};
  for (int i = 0; i < n; ++i) {
    const std::ptrdiff_t base = first + static_cast<std::ptrdiff_t>(i) * stride;
    std::ptrdiff_t j = 0;
    for (; j + lanes <= hw; j += lanes)
      for (int l = 0; l < lanes; ++l) acc[l] += term(base + j + l);
    for (; j < hw; ++j) acc[j % lanes] += term(base + j);
  }
  return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

// Training mode: normalise with the batch statistics, save mean and 1/std for the backward
// pass, and move the running statistics (unbiased variance, as PyTorch and Keras do).
template <class T>
void batch_norm_forward_train(const batch_norm_geometry& g, const T* x, const T* gamma, const T* beta,
                              T* running_mean, T* running_var, T* save_mean, T* save_invstd, T* y) {
  const std::ptrdiff_t hw = g.hw, m = static_cast<std::ptrdiff_t>(g.n) * hw;
#pragma omp parallel for schedule(static)
  for (int c = 0; c < g.c; ++c) {
    const std::ptrdiff_t first = static_cast<std::ptrdiff_t>(c) * hw, stride = static_cast<std::ptrdiff_t>(g.c) * hw;
    const double sum = channel_sum(g.n, first, stride, hw, [x](std::ptrdiff_t o) { return static_cast<double>(x[o]); });
    const double mean = sum / static_cast<double>(m);
    const double sq = channel_sum(g.n, first, stride, hw, [x, mean](std::ptrdiff_t o) {
      const double d = static_cast<double>(x[o]) - mean;
      return d * d;
    });
    const double var = sq / static_cast<double>(m);
    const double invstd = 1.0 / std::sqrt(var + g.eps);
    save_mean[c] = static_cast<T>(mean);
    save_invstd[c] = static_cast<T>(invstd);
    const double unbiased = m > 1 ? var * static_cast<double>(m) / static_cast<double>(m - 1) : var;
    running_mean[c] = static_cast<T>((1.0 - g.momentum) * running_mean[c] + g.momentum * mean);
    running_var[c] = static_cast<T>((1.0 - g.momentum) * running_var[c] + g.momentum * unbiased);
    const T scale = static_cast<T>(gamma[c] * invstd), shift = static_cast<T>(beta[c] - gamma[c] * mean * invstd);
    for (int i = 0; i < g.n; ++i) {
      const std::ptrdiff_t off = (static_cast<std::ptrdiff_t>(i) * g.c + c) * hw;
      for (std::ptrdiff_t j = 0; j < hw; ++j) y[off + j] = x[off + j] * scale + shift;
    }
  }
}

// Inference mode: normalise with the running statistics; also leaves mean and 1/std in the
// save buffers so that a backward pass in inference mode (a gradient check) can use them.
template <class T>
void batch_norm_forward_infer(const batch_norm_geometry& g, const T* x, const T* gamma, const T* beta,
                              const T* running_mean, const T* running_var, T* save_mean, T* save_invstd, T* y) {
  const std::ptrdiff_t hw = g.hw;
#pragma omp parallel for schedule(static)
  for (int c = 0; c < g.c; ++c) {
    const double invstd = 1.0 / std::sqrt(static_cast<double>(running_var[c]) + g.eps);
    save_mean[c] = running_mean[c];
    save_invstd[c] = static_cast<T>(invstd);
    const T scale = static_cast<T>(gamma[c] * invstd);
    const T shift = static_cast<T>(beta[c] - gamma[c] * running_mean[c] * invstd);
    for (int i = 0; i < g.n; ++i) {
      const std::ptrdiff_t off = (static_cast<std::ptrdiff_t>(i) * g.c + c) * hw;
      for (std::ptrdiff_t j = 0; j < hw; ++j) y[off + j] = x[off + j] * scale + shift;
    }
  }
}

// Gradients; dgamma and dbeta are overwritten, dx too when non-null. In training mode the batch
// statistics depend on x, which adds the two mean terms; in inference mode they are constants.
template <class T>
void batch_norm_backward(const batch_norm_geometry& g, bool training, const T* x, const T* gamma,
                         const T* save_mean, const T* save_invstd, const T* dy, T* dx, T* dgamma, T* dbeta) {
  const std::ptrdiff_t hw = g.hw, m = static_cast<std::ptrdiff_t>(g.n) * hw;
#pragma omp parallel for schedule(static)
  for (int c = 0; c < g.c; ++c) {
    const double mean = save_mean[c], invstd = save_invstd[c];
    const std::ptrdiff_t first = static_cast<std::ptrdiff_t>(c) * hw, stride = static_cast<std::ptrdiff_t>(g.c) * hw;
    const double sum_dy = channel_sum(g.n, first, stride, hw, [dy](std::ptrdiff_t o) { return static_cast<double>(dy[o]); });
    const double sum_dy_xhat = channel_sum(g.n, first, stride, hw, [x, dy, mean, invstd](std::ptrdiff_t o) {
      return static_cast<double>(dy[o]) * (static_cast<double>(x[o]) - mean) * invstd;
    });
    dgamma[c] = static_cast<T>(sum_dy_xhat);
    dbeta[c] = static_cast<T>(sum_dy);
    if (!dx) continue;
    const double k = gamma[c] * invstd;
    const double mean_dy = training ? sum_dy / static_cast<double>(m) : 0.0;
    const double mean_dy_xhat = training ? sum_dy_xhat / static_cast<double>(m) : 0.0;
    for (int i = 0; i < g.n; ++i) {
      const std::ptrdiff_t off = (static_cast<std::ptrdiff_t>(i) * g.c + c) * hw;
      for (std::ptrdiff_t j = 0; j < hw; ++j) {
        const double xhat = (x[off + j] - mean) * invstd;
        dx[off + j] = static_cast<T>(k * (dy[off + j] - mean_dy - xhat * mean_dy_xhat));
      }
    }
  }
}

}  // namespace cnnzoo::exec::eigen_detail
