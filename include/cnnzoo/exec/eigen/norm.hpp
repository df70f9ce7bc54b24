#pragma once
#include "common.hpp"
// Batch normalisation over (n, h, w) per channel, NCHW. Statistics are accumulated in double so
// that float and double runs agree to float precision; each channel is one OpenMP task.
#include <cmath>
#include <functional>
#include <span>
#include <utility>
#include <vector>

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

// Training mode, one channel, once its statistics are known (mean and biased variance over m
// values): save mean and 1/std for the backward pass, move the running statistics (unbiased
// variance, as PyTorch and Keras do) and normalise.
template <class T>
void batch_norm_channel(const batch_norm_geometry& g, int c, double mean, double var, double m, const T* x,
                        const T* gamma, const T* beta, T* running_mean, T* running_var, T* save_mean,
                        T* save_invstd, T* y) {
  const std::ptrdiff_t hw = g.hw;
  const double invstd = 1.0 / std::sqrt(var + g.eps);
  save_mean[c] = static_cast<T>(mean);
  save_invstd[c] = static_cast<T>(invstd);
  const double unbiased = m > 1 ? var * m / (m - 1) : var;
  running_mean[c] = static_cast<T>((1.0 - g.momentum) * running_mean[c] + g.momentum * mean);
  running_var[c] = static_cast<T>((1.0 - g.momentum) * running_var[c] + g.momentum * unbiased);
  const T scale = static_cast<T>(gamma[c] * invstd), shift = static_cast<T>(beta[c] - gamma[c] * mean * invstd);
  for (int i = 0; i < g.n; ++i) {
    const std::ptrdiff_t off = (static_cast<std::ptrdiff_t>(i) * g.c + c) * hw;
    for (std::ptrdiff_t j = 0; j < hw; ++j) y[off + j] = x[off + j] * scale + shift;
  }
}

// The sums of one channel's values, and of their squared distances from `mean`, in double.
template <class T>
double channel_values_sum(const batch_norm_geometry& g, int c, const T* x) {
  const std::ptrdiff_t hw = g.hw;
  return channel_sum(g.n, static_cast<std::ptrdiff_t>(c) * hw, static_cast<std::ptrdiff_t>(g.c) * hw, hw,
                     [x](std::ptrdiff_t o) { return static_cast<double>(x[o]); });
}
template <class T>
double channel_squares_sum(const batch_norm_geometry& g, int c, const T* x, double mean) {
  const std::ptrdiff_t hw = g.hw;
  return channel_sum(g.n, static_cast<std::ptrdiff_t>(c) * hw, static_cast<std::ptrdiff_t>(g.c) * hw, hw,
                     [x, mean](std::ptrdiff_t o) {
                       const double d = static_cast<double>(x[o]) - mean;
                       return d * d;
                     });
}

// Training mode: normalise with the batch statistics (two passes: the mean, then the squared
// distances from it).
template <class T>
void batch_norm_forward_train(const batch_norm_geometry& g, const T* x, const T* gamma, const T* beta,
                              T* running_mean, T* running_var, T* save_mean, T* save_invstd, T* y) {
  const double m = static_cast<double>(g.n) * static_cast<double>(g.hw);
#pragma omp parallel for schedule(static)
  for (int c = 0; c < g.c; ++c) {
    const double mean = channel_values_sum(g, c, x) / m;
    const double var = channel_squares_sum(g, c, x, mean) / m;
    batch_norm_channel(g, c, mean, var, m, x, gamma, beta, running_mean, running_var, save_mean, save_invstd, y);
  }
}

// Training mode with the statistics of the whole global batch of a data-parallel job (--sync-bn):
// the same two passes, each followed by a sum over the ranks (`sum_over_ranks(values)` sums in
// place, the same bits on every rank), so every rank normalises with, and keeps as running
// statistics, the mean and variance of all ranks' images together.
template <class T, class SumOverRanks>
void batch_norm_forward_train_synced(const batch_norm_geometry& g, const T* x, const T* gamma, const T* beta,
                                     T* running_mean, T* running_var, T* save_mean, T* save_invstd, T* y,
                                     SumOverRanks&& sum_over_ranks) {
  const std::size_t channels = static_cast<std::size_t>(g.c);
  std::vector<double> sums(channels + 1), squares(channels);
#pragma omp parallel for schedule(static)
  for (int c = 0; c < g.c; ++c) sums[static_cast<std::size_t>(c)] = channel_values_sum(g, c, x);
  sums[channels] = static_cast<double>(g.n) * static_cast<double>(g.hw);
  sum_over_ranks(std::span<double>(sums));
  const double m = sums[channels];
#pragma omp parallel for schedule(static)
  for (int c = 0; c < g.c; ++c)
    squares[static_cast<std::size_t>(c)] = channel_squares_sum(g, c, x, sums[static_cast<std::size_t>(c)] / m);
  sum_over_ranks(std::span<double>(squares));
#pragma omp parallel for schedule(static)
  for (int c = 0; c < g.c; ++c) {
    const std::size_t k = static_cast<std::size_t>(c);
    batch_norm_channel(g, c, sums[k] / m, squares[k] / m, m, x, gamma, beta, running_mean, running_var, save_mean,
                       save_invstd, y);
  }
}

// Inference mode: normalise with the running statistics; also leaves mean and 1/std in the
// save buffers (where not null) so that a backward pass in inference mode (a gradient check) can
// use them. `post` is applied to every output: the identity, or the activation fused after it
// (batch_norm_activation_forward_infer), whose outputs are then exactly the unfused ones.
template <class T, class Post = std::identity>
void batch_norm_forward_infer(const batch_norm_geometry& g, const T* x, const T* gamma, const T* beta,
                              const T* running_mean, const T* running_var, T* save_mean, T* save_invstd, T* y,
                              Post post = {}) {
  const std::ptrdiff_t hw = g.hw;
#pragma omp parallel for schedule(static)
  for (int c = 0; c < g.c; ++c) {
    const double invstd = 1.0 / std::sqrt(static_cast<double>(running_var[c]) + g.eps);
    if (save_mean) save_mean[c] = running_mean[c];
    if (save_invstd) save_invstd[c] = static_cast<T>(invstd);
    const T scale = static_cast<T>(gamma[c] * invstd);
    const T shift = static_cast<T>(beta[c] - gamma[c] * running_mean[c] * invstd);
    for (int i = 0; i < g.n; ++i) {
      const std::ptrdiff_t off = (static_cast<std::ptrdiff_t>(i) * g.c + c) * hw;
      for (std::ptrdiff_t j = 0; j < hw; ++j) y[off + j] = post(static_cast<T>(x[off + j] * scale + shift));
    }
  }
}

// One channel's sums for the backward pass: of dy (dbeta) and of dy * xhat (dgamma).
template <class T>
std::pair<double, double> channel_gradient_sums(const batch_norm_geometry& g, int c, const T* x, const T* dy,
                                                double mean, double invstd) {
  const std::ptrdiff_t hw = g.hw, first = static_cast<std::ptrdiff_t>(c) * hw, stride = static_cast<std::ptrdiff_t>(g.c) * hw;
  const double sum_dy = channel_sum(g.n, first, stride, hw, [dy](std::ptrdiff_t o) { return static_cast<double>(dy[o]); });
  const double sum_dy_xhat = channel_sum(g.n, first, stride, hw, [x, dy, mean, invstd](std::ptrdiff_t o) {
    return static_cast<double>(dy[o]) * (static_cast<double>(x[o]) - mean) * invstd;
  });
  return {sum_dy, sum_dy_xhat};
}

// One channel's dx. In training mode the batch statistics depend on x, which adds the two mean
// terms (over the m values the statistics were taken over); in inference mode they are constants.
template <class T>
void batch_norm_channel_dx(const batch_norm_geometry& g, int c, bool training, const T* x, const T* gamma,
                           double mean, double invstd, double mean_dy, double mean_dy_xhat, const T* dy, T* dx) {
  const std::ptrdiff_t hw = g.hw;
  const double k = gamma[c] * invstd;
  if (!training) mean_dy = mean_dy_xhat = 0.0;
  for (int i = 0; i < g.n; ++i) {
    const std::ptrdiff_t off = (static_cast<std::ptrdiff_t>(i) * g.c + c) * hw;
    for (std::ptrdiff_t j = 0; j < hw; ++j) {
      const double xhat = (x[off + j] - mean) * invstd;
      dx[off + j] = static_cast<T>(k * (dy[off + j] - mean_dy - xhat * mean_dy_xhat));
    }
  }
}

// Gradients; dgamma and dbeta are overwritten, dx too when non-null.
template <class T>
void batch_norm_backward(const batch_norm_geometry& g, bool training, const T* x, const T* gamma,
                         const T* save_mean, const T* save_invstd, const T* dy, T* dx, T* dgamma, T* dbeta) {
  const double m = static_cast<double>(g.n) * static_cast<double>(g.hw);
#pragma omp parallel for schedule(static)
  for (int c = 0; c < g.c; ++c) {
    const double mean = save_mean[c], invstd = save_invstd[c];
    const auto [sum_dy, sum_dy_xhat] = channel_gradient_sums(g, c, x, dy, mean, invstd);
    dgamma[c] = static_cast<T>(sum_dy_xhat);
    dbeta[c] = static_cast<T>(sum_dy);
    if (dx) batch_norm_channel_dx(g, c, training, x, gamma, mean, invstd, sum_dy / m, sum_dy_xhat / m, dy, dx);
  }
}

// The backward pass of batch_norm_forward_train_synced (training mode): dgamma and dbeta stay
// this rank's own sums (the gradient exchange sums parameters' gradients over the ranks later),
// while dx takes the two mean terms over the global batch, as the forward pass's statistics were.
template <class T, class SumOverRanks>
void batch_norm_backward_synced(const batch_norm_geometry& g, const T* x, const T* gamma, const T* save_mean,
                                const T* save_invstd, const T* dy, T* dx, T* dgamma, T* dbeta,
                                SumOverRanks&& sum_over_ranks) {
  const std::size_t channels = static_cast<std::size_t>(g.c);
  std::vector<double> sums(2 * channels + 1);
#pragma omp parallel for schedule(static)
  for (int c = 0; c < g.c; ++c) {
    const auto [sum_dy, sum_dy_xhat] = channel_gradient_sums(g, c, x, dy, save_mean[c], save_invstd[c]);
    dgamma[c] = static_cast<T>(sum_dy_xhat);
    dbeta[c] = static_cast<T>(sum_dy);
    sums[2 * static_cast<std::size_t>(c)] = sum_dy;
    sums[2 * static_cast<std::size_t>(c) + 1] = sum_dy_xhat;
  }
  sums[2 * channels] = static_cast<double>(g.n) * static_cast<double>(g.hw);
  sum_over_ranks(std::span<double>(sums));
  if (!dx) return;
  const double m = sums[2 * channels];
#pragma omp parallel for schedule(static)
  for (int c = 0; c < g.c; ++c) {
    const std::size_t k = 2 * static_cast<std::size_t>(c);
    batch_norm_channel_dx(g, c, true, x, gamma, save_mean[c], save_invstd[c], sums[k] / m, sums[k + 1] / m, dy, dx);
  }
}

}  // namespace cnnzoo::exec::eigen_detail
