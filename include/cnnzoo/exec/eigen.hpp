#pragma once
// The Eigen execution policy: the CPU reference every other policy is checked against, and the
// trainer's CPU backend. NCHW activations; float or double throughout.
//
//   cnnzoo::network<cnnzoo::models::resnet18, cnnzoo::exec::eigen<float>> net{/*batch=*/32};
#define CNNZOO_EIGEN_POLICY_INTERNAL
// One header per op family, side by side with exec/cuda/<family>.hpp.
#include "eigen/common.hpp"
#include "eigen/activation.hpp"
#include "eigen/attention.hpp"
#include "eigen/channels.hpp"
#include "eigen/conv.hpp"
#include "eigen/dense.hpp"
#include "eigen/elementwise.hpp"
#include "eigen/loss.hpp"
#include "eigen/norm.hpp"
#include "eigen/pool.hpp"
#undef CNNZOO_EIGEN_POLICY_INTERNAL

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "../core/rng.hpp"
#include "../dist/communicator.hpp"
#include "vocabulary.hpp"

namespace cnnzoo::exec {

template <class T = float>
class eigen {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                "cnnzoo: exec::eigen computes in float or double");
  using dd = std::ptrdiff_t;

public:
  using value_type = T;    // activations
  using weight_type = T;   // parameters, gradients, statistics
  static constexpr std::string_view name = std::is_same_v<T, float> ? "eigen<float>" : "eigen<double>";
  static constexpr bool nchw = true;

  template <class U> using buffer = std::vector<U, Eigen::aligned_allocator<U>>;

  // Threads for the OpenMP regions (0: OpenMP's default, all cores).
  explicit eigen(int threads = 0) {
#ifdef _OPENMP
    if (threads > 0) omp_set_num_threads(threads);
#else
    (void)threads;
#endif
  }

  // For the programs' first line: which engine multiplies ("oneDNN 2.6.3 sgemm (instruction set
  // chosen at run time)", or Eigen's with the instruction sets compiled in).
  std::string describe() const { return "Eigen kernels, " + eigen_detail::gemm_engine(); }

  // Synchronized BatchNorm for data-parallel training (dist/communicator.hpp): with a communicator
  // set, every training-mode BatchNorm takes its statistics over the images of all the job's ranks
  // (three sums over the ranks per layer and step; every rank must run the same training passes).
  // nullptr: each rank's own batch (the default, as DistributedDataParallel's).
  void set_batch_norm_sync(dist::communicator* ranks) noexcept { bn_sync_ = ranks; }
  dist::communicator* batch_norm_sync() const noexcept { return bn_sync_; }

  // ---- memory: host memory, so transfers are copies ------------------------------------------
  template <class U> buffer<U> allocate(std::size_t count) const { return buffer<U>(count, U{}); }
  template <class U> void upload(U* dst, const U* host, std::size_t count) const { std::copy_n(host, count, dst); }
  template <class U> void download(U* host, const U* src, std::size_t count) const { std::copy_n(src, count, host); }
  void synchronize() const noexcept {}
  // network<> names its parameter and gradient buffers; the CPU computes from them directly
  // (the CUDA policy keeps a 16-bit copy of the weights there).
  void bind_parameters(T*, T*, std::size_t) noexcept {}

  // ---- convolution, normalisation, activation --------------------------------------------------
  void conv2d_forward(const conv_geometry& g, const T* x, const T* w, const T* b, T* y) const {
    eigen_detail::conv2d_forward(g, x, w, b, y);
  }
  void conv2d_backward(const conv_geometry& g, const T* x, const T* w, const T* dy, T* dx, T* dw, T* db) const {
    eigen_detail::conv2d_backward(g, x, w, dy, dx, dw, db);
  }
  void batch_norm_forward(const batch_norm_geometry& g, bool training, const T* x, const T* gamma, const T* beta,
                          T* running_mean, T* running_var, T* save_mean, T* save_invstd, T* y) const {
    if (training && bn_sync_)
      eigen_detail::batch_norm_forward_train_synced(g, x, gamma, beta, running_mean, running_var, save_mean,
                                                    save_invstd, y, sum_over_ranks());
    else if (training)
      eigen_detail::batch_norm_forward_train(g, x, gamma, beta, running_mean, running_var, save_mean, save_invstd, y);
    else
      eigen_detail::batch_norm_forward_infer(g, x, gamma, beta, running_mean, running_var, save_mean, save_invstd, y);
  }
  void batch_norm_backward(const batch_norm_geometry& g, bool training, const T* x, const T* gamma,
                           const T* save_mean, const T* save_invstd, const T* dy, T* dx, T* dgamma,
                           T* dbeta) const {
    if (training && bn_sync_)
      eigen_detail::batch_norm_backward_synced(g, x, gamma, save_mean, save_invstd, dy, dx, dgamma, dbeta,
                                               sum_over_ranks());
    else
      eigen_detail::batch_norm_backward(g, training, x, gamma, save_mean, save_invstd, dy, dx, dgamma, dbeta);
  }
  // BatchNorm on running statistics then activation a, in one pass (graph/fusion.hpp).
  void batch_norm_activation_forward_infer(const batch_norm_geometry& g, activation a, const T* x, const T* gamma,
                                           const T* beta, const T* running_mean, const T* running_var, T* y) const {
    eigen_detail::with_activation(a, [&](auto kind) {
      constexpr activation k = decltype(kind)::value;
      eigen_detail::batch_norm_forward_infer(g, x, gamma, beta, running_mean, running_var, static_cast<T*>(nullptr),
                                             static_cast<T*>(nullptr), y,
                                             [](T v) { return eigen_detail::activate(k, v); });
    });
  }
  void activation_forward(activation a, std::size_t count, const T* x, T* y) const {
    eigen_detail::activation_forward(a, static_cast<dd>(count), x, y);
  }
  void activation_backward(activation a, std::size_t count, const T* x, const T* y, const T* dy, T* dx) const {
    eigen_detail::activation_backward(a, static_cast<dd>(count), x, y, dy, dx);
  }

  // ---- pooling, dense ------------------------------------------------------------------------
  void pool_forward(pool_kind k, const pool_geometry& g, const T* x, T* y) const {
    eigen_detail::pool_forward(k, g, x, y);
  }
  void pool_backward(pool_kind k, const pool_geometry& g, const T* x, const T* dy, T* dx) const {
    eigen_detail::pool_backward(k, g, x, dy, dx);
  }
  void global_pool_forward(pool_kind k, int n, int c, int hw, const T* x, T* y) const {
    eigen_detail::global_pool_forward(k, n, c, hw, x, y);
  }
  void global_pool_backward(pool_kind k, int n, int c, int hw, const T* x, const T* dy, T* dx) const {
    eigen_detail::global_pool_backward(k, n, c, hw, x, dy, dx);
  }
  void dense_forward(int n, int in, int out, const T* x, const T* w, const T* b, T* y) const {
    eigen_detail::dense_forward(n, in, out, x, w, b, y);
  }
  void dense_backward(int n, int in, int out, const T* x, const T* w, const T* dy, T* dx, T* dw, T* db) const {
    eigen_detail::dense_backward(n, in, out, x, w, dy, dx, dw, db);
  }
  // (n, c, h, w) -> (n, c*h*w) in NCHW order: the CPU layout already is that order.
  void flatten_forward(int n, int c, int hw, const T* x, T* y) const {
    copy(static_cast<std::size_t>(n) * c * hw, x, y);
  }
  void flatten_backward(int n, int c, int hw, const T* dy, T* dx) const {
    copy(static_cast<std::size_t>(n) * c * hw, dy, dx);
  }

  // ---- elementwise and channel blocks ---------------------------------------------------------
  void copy(std::size_t count, const T* x, T* y) const { if (x != y) std::copy_n(x, count, y); }
  void fill(std::size_t count, T value, T* y) const { std::fill_n(y, count, value); }
  // y = a + b
  void add(std::size_t count, const T* a, const T* b, T* y) const {
    eigen_detail::add(static_cast<dd>(count), a, b, y);
  }
  // y = alpha * x + beta * y   (beta = 0 overwrites y without reading it)
  void axpby(std::size_t count, T alpha, const T* x, T beta, T* y) const {
    eigen_detail::axpby(static_cast<dd>(count), alpha, x, beta, y);
  }
  // dst block (+)= src block, see channel_copy.
  void copy_channels(const channel_copy& b, const T* src, T* dst, bool accumulate) const {
    eigen_detail::copy_channels(b, src, dst, accumulate);
  }
  // Inverted dropout: keep with probability 1 - rate and scale by 1 / (1 - rate). The mask (0 or
  // the scale) is a function of (key, index) only, so every policy draws the same one.
  void dropout_forward(std::size_t count, float rate, std::uint64_t key, const T* x, T* mask, T* y) const {
    eigen_detail::dropout_forward(static_cast<dd>(count), rate, key, x, mask, y);
  }
  // The augmented, normalized input batch (n images, NCHW) from 8-bit images in policy memory and
  // one recipe per image (data/batch_plan.hpp): the pixel half of augmentation, see ops/render.hpp.
  // `norm` holds per channel 255 * mean and 1 / (255 * std).
  void render_batch(const render_geometry& g, int n, const image_recipe* recipes, const std::uint8_t* pixels,
                    const float* norm, T* out) const {
    eigen_detail::render_batch(g, n, recipes, pixels, norm, out);
  }
  // y = x * m elementwise (dropout's backward, and any fixed mask).
  void multiply(std::size_t count, const T* x, const T* m, T* y) const {
    eigen_detail::multiply(static_cast<dd>(count), x, m, y);
  }

  // ---- channel blocks, shuffle, squeeze-excite (eigen/channels.hpp) ---------------------------
  // Channel shuffle: y[i, j * groups + g] = x[i, g * (c / groups) + j] for every pixel. Its
  // inverse (the backward pass) is shuffle_channels with c / groups groups.
  void shuffle_channels(int n, int c, int hw, int groups, const T* x, T* y) const {
    eigen_detail::shuffle_channels(n, c, hw, groups, x, y);
  }
  // Broadcast channel multiply: y[i, ch, :] = x[i, ch, :] * s[i, ch] (squeeze-excite's scale;
  // with c = 1 and hw = values per image, a per-sample scale).
  void scale_channels_forward(int n, int c, int hw, const T* x, const T* s, T* y) const {
    eigen_detail::scale_channels_forward(n, c, hw, x, s, y);
  }
  // ds[i, ch] = sum over the plane of dy * x (overwritten; skipped when null);
  // dx = dy * s[i, ch], overwritten or, with accumulate, added (skipped when null).
  void scale_channels_backward(int n, int c, int hw, const T* x, const T* s, const T* dy, T* dx, T* ds,
                               bool accumulate) const {
    eigen_detail::scale_channels_backward(n, c, hw, x, s, dy, dx, ds, accumulate);
  }
  // mask[i] = hash_uniform(key, i) >= drop ? (rescale ? T(1) / (T(1) - T(drop)) : T(1)) : T(0), for
  // i in [0, count): the stochastic-depth gate's per-sample coin (any keyed Bernoulli mask),
  // identical on every policy.
  void bernoulli_mask(std::size_t count, float drop, bool rescale, std::uint64_t key, T* mask) const {
    eigen_detail::bernoulli_mask(static_cast<dd>(count), drop, rescale, key, mask);
  }

  // ---- attention: channel statistics, spatial scaling, softmax (eigen/attention.hpp) --------
  // Statistics over the channels of every pixel (CBAM's spatial attention):
  // y[i, p] = mean or max over ch of x[i, ch, p]; y is (n, 1, h, w).
  void channel_pool_forward(pool_kind k, int n, int c, int hw, const T* x, T* y) const {
    eigen_detail::channel_pool_forward(k, n, c, hw, x, y);
  }
  // dx overwritten: dy / c on every channel (mean), or dy on the first maximal channel (max).
  void channel_pool_backward(pool_kind k, int n, int c, int hw, const T* x, const T* dy, T* dx) const {
    eigen_detail::channel_pool_backward(k, n, c, hw, x, dy, dx);
  }
  // Broadcast spatial multiply: y[i, ch, p] = x[i, ch, p] * s[i, p] (s is (n, 1, h, w)).
  void scale_spatial_forward(int n, int c, int hw, const T* x, const T* s, T* y) const {
    eigen_detail::scale_spatial_forward(n, c, hw, x, s, y);
  }
  // ds[i, p] = sum over ch of dy * x (overwritten; skipped when null);
  // dx = dy * s[i, p], overwritten or, with accumulate, added (skipped when null).
  void scale_spatial_backward(int n, int c, int hw, const T* x, const T* s, const T* dy, T* dx, T* ds,
                              bool accumulate) const {
    eigen_detail::scale_spatial_backward(n, c, hw, x, s, dy, dx, ds, accumulate);
  }
  // Softmax over the channels of each group, or over the groups (ops/attention.hpp).
  void softmax_forward(const softmax_geometry& g, const T* x, T* y) const {
    eigen_detail::softmax_forward(g, x, y);
  }
  // dx = y * (dy - sum over the axis of dy * y), from the forward output y; dx overwritten.
  void softmax_backward(const softmax_geometry& g, const T* y, const T* dy, T* dx) const {
    eigen_detail::softmax_backward(g, y, dy, dx);
  }

  // ---- loss and optimiser ---------------------------------------------------------------------
  // Mean softmax cross-entropy against soft targets; writes dlogits, returns the loss.
  double softmax_cross_entropy(int n, int classes, const T* logits, const T* targets, T* dlogits) const {
    return eigen_detail::softmax_cross_entropy(n, classes, logits, targets, dlogits);
  }
  double sum_of_squares(std::size_t count, const T* x) const {
    return eigen_detail::const_vector_map<T>(x, static_cast<dd>(count)).template cast<double>().squaredNorm();
  }
  void sgd_update(std::size_t count, T* w, const T* grad, T* velocity, const T* decay_mask, double lr,
                  double momentum, double weight_decay, bool nesterov, double grad_scale) const {
    eigen_detail::sgd_update(static_cast<dd>(count), w, grad, velocity, decay_mask, lr, momentum, weight_decay,
                             nesterov, grad_scale);
  }

private:
  auto sum_over_ranks() const {
    return [ranks = bn_sync_](std::span<double> values) { ranks->sum(values); };
  }
  dist::communicator* bn_sync_ = nullptr;
};

}  // namespace cnnzoo::exec
