#pragma once
#ifndef CNNZOO_CUDA_POLICY_INTERNAL
#error "cnnzoo: the headers of exec/cuda/ are internal; include <cnnzoo/exec/cuda/kernels.hpp> from one .cu file"
#endif
// The CUDA policy's ops of one family (included by kernels.hpp). The loss and the optimiser, with
// fp16 loss scaling on the bound gradients (the rule: loss_functors.hpp). Eigen:
// exec/eigen/loss.hpp.

namespace cnnzoo::exec {

template <class P>
double cuda<P>::softmax_cross_entropy(int n, int classes, const T* logits, const T* targets, T* dlogits) const {
  using namespace cuda_detail;
  auto& c = *ctx_;
  if (n <= 0) return 0.0;
  double* rows = c.reduce.get(static_cast<std::size_t>(n), stream_);
  const loss_scale_state* ls = nullptr;
  if constexpr (context<P>::loss_scaling) {
    ls = c.ls.data();
    c.scaled.pending = true;
  }
  launch_each(stream_, static_cast<index_t>(n),
              softmax_xent_fn<T>{static_cast<index_t>(classes), 1.0 / n, logits, targets, dlogits, rows, ls},
              "softmax_cross_entropy");
  c.host_reduce.resize(static_cast<std::size_t>(n));
  transfer(c.host_reduce.data(), rows, sizeof(double) * static_cast<std::size_t>(n), cudaMemcpyDeviceToHost,
           "softmax_cross_entropy");
  return std::accumulate(c.host_reduce.begin(), c.host_reduce.end(), 0.0) / n;
}

template <class P>
double cuda<P>::sum_of_squares_impl(std::size_t count, const void* x, bool is_weight) const {
  using namespace cuda_detail;
  auto& c = *ctx_;
  if (count == 0) return 0.0;
  const index_t blocks = reduction_blocks(count);
  double* part = c.reduce.get(blocks, stream_);
  if (is_weight) launch_sum_of_squares(stream_, static_cast<const float*>(x), count, blocks, part);
  else launch_sum_of_squares(stream_, static_cast<const T*>(x), count, blocks, part);
  c.host_reduce.resize(blocks);
  transfer(c.host_reduce.data(), part, sizeof(double) * blocks, cudaMemcpyDeviceToHost, "sum_of_squares");
  double total = std::accumulate(c.host_reduce.begin(), c.host_reduce.end(), 0.0);
  // fp16: the bound gradients carry the loss scale until sgd_update divides it out; report them
  // unscaled. Other buffers are summed as they are.
  if constexpr (context<P>::loss_scaling)
    if (is_weight && c.scaled.carries_scale(static_cast<const float*>(x), count)) {
      const double s = loss_scale();
      total /= s * s;
    }
  return total;
}

template <class P>
void cuda<P>::sgd_update(std::size_t count, W* w, const W* grad, W* velocity, const W* decay_mask, double lr,
                         double momentum, double weight_decay, bool nesterov, double grad_scale) const {
  sgd_launch(count, w, grad, velocity, decay_mask, lr, momentum, weight_decay, nesterov, grad_scale, false);
}

// The update, with its learning rate either given (device_step = false) or read from the step
// state in policy memory with the clipping factor and the skip flag (device steps).
template <class P>
void cuda<P>::sgd_launch(std::size_t count, W* w, const W* grad, W* velocity, const W* decay_mask, double lr,
                         double momentum, double weight_decay, bool nesterov, double grad_scale, bool device_step,
                         bool clip) const {
  using namespace cuda_detail;
  auto& c = *ctx_;
  T* work = nullptr;
  if constexpr (context<P>::half_precision) {
    if (c.params && w == c.params && count == c.count) {
      c.refresh();   // the copy must be current where a skipped step leaves it untouched
      work = c.work.data();
    } else if (c.overlaps_params(w, count)) {
      c.stale = true;
    }
  }
  loss_scale_state* ls = nullptr;
  if constexpr (context<P>::loss_scaling) {
    if (c.scaled.unscale_in_update(grad, count)) {
      ls = c.ls.data();
      launch_each(stream_, count, nonfinite_check_fn{grad, ls}, "sgd_update (gradient check)");
    }
  }
  launch_each(stream_, count,
              sgd_fn<T>{w, grad, velocity, decay_mask, work, lr, momentum, weight_decay, grad_scale, nesterov, ls,
                        device_step ? c.step_state() : nullptr, clip},
              "sgd_update");
  if (ls) {
    launch_each(stream_, 1,
                loss_scale_update_fn{ls, options_.loss_scale_growth_interval, options_.dynamic_loss_scale,
                                     device_step ? c.step_state() : nullptr},
                "sgd_update (loss scale)");
    c.scaled.pending = false;
  }
}

}  // namespace cnnzoo::exec
