#pragma once
#ifndef CNNZOO_CUDA_POLICY_INTERNAL
#error "cnnzoo: the headers of exec/cuda/ are internal; include <cnnzoo/exec/cuda/kernels.hpp> from one .cu file"
#endif
// The CUDA policy's ops of one family (included by kernels.hpp). BatchNorm, forward and backward,
// from deterministic per-channel partial sums. Eigen: exec/eigen/norm.hpp; arithmetic:
// norm_functors.hpp.

namespace cnnzoo::exec {

template <class P>
void cuda<P>::batch_norm_forward(const batch_norm_geometry& g, bool training, const T* x, const W* gamma,
                                 const W* beta, W* running_mean, W* running_var, W* save_mean, W* save_invstd,
                                 T* y) const {
  using namespace cuda_detail;
  auto& c = *ctx_;
  const index_t ch = static_cast<index_t>(g.c), hw = static_cast<index_t>(g.hw), per = static_cast<index_t>(g.n) * hw;
  if (training) {
    const index_t slices = channel_slices(ch, per);
    sum2* part = c.partial.get(ch * slices, stream_);
    launch_channel_partials(stream_, sum_x_fn<T>{x}, ch, slices, per, hw, part, "batch_norm_forward (mean)");
    launch_each(stream_, ch, bn_mean_fn{part, slices, static_cast<double>(per), save_mean}, "batch_norm_forward (mean)");
    launch_channel_partials(stream_, sum_sq_dev_fn<T>{x, save_mean}, ch, slices, per, hw, part,
                            "batch_norm_forward (variance)");
    launch_each(stream_, ch,
                bn_var_fn{part, slices, static_cast<double>(per), g.eps, g.momentum, save_mean, save_invstd,
                          running_mean, running_var},
                "batch_norm_forward (variance)");
  } else {
    launch_each(stream_, ch, bn_infer_stats_fn{g.eps, running_mean, running_var, save_mean, save_invstd},
                "batch_norm_forward (inference statistics)");
  }
  launch_each(stream_, per * ch, bn_apply_fn<T>{hw, ch, x, gamma, beta, save_mean, save_invstd, y}, "batch_norm_forward");
}

template <class P>
void cuda<P>::batch_norm_backward(const batch_norm_geometry& g, bool training, const T* x, const W* gamma,
                                  const W* save_mean, const W* save_invstd, const T* dy, T* dx, W* dgamma,
                                  W* dbeta) const {
  using namespace cuda_detail;
  auto& c = *ctx_;
  const index_t ch = static_cast<index_t>(g.c), hw = static_cast<index_t>(g.hw), per = static_cast<index_t>(g.n) * hw;
  const index_t slices = channel_slices(ch, per);
  sum2* part = c.partial.get(ch * slices, stream_);
  float* coef = c.coef.get(2 * ch, stream_);
  launch_channel_partials(stream_, sum_bn_backward_fn<T>{x, dy, save_mean, save_invstd}, ch, slices, per, hw, part,
                          "batch_norm_backward");
  launch_each(stream_, ch,
              bn_backward_finalize_fn{part, slices, ch, static_cast<double>(per), training, dgamma, dbeta, coef},
              "batch_norm_backward");
  if (dx)
    launch_each(stream_, per * ch, bn_backward_dx_fn<T>{hw, ch, x, dy, gamma, save_mean, save_invstd, coef, dx},
                "batch_norm_backward (input gradient)");
}

}  // namespace cnnzoo::exec
