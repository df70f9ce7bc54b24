#pragma once
#ifndef CNNZOO_CUDA_POLICY_INTERNAL
#error "cnnzoo: the headers of exec/cuda/ are internal; include <cnnzoo/exec/cuda/kernels.hpp> from one .cu file"
#endif
// The CUDA policy's ops of one family (included by kernels.hpp). Channel permutations, broadcast
// scaling, Bernoulli masks. Eigen: exec/eigen/channels.hpp; arithmetic: channels_functors.hpp.

namespace cnnzoo::exec {

template <class P>
void cuda<P>::shuffle_channels(int n, int c, int hw, int groups, const T* x, T* y) const {
  cuda_detail::launch_each(stream_, static_cast<std::size_t>(n) * c * hw,
                           cuda_detail::shuffle_channels_fn<T>{std::size_t(c), std::size_t(hw), std::size_t(groups), x, y},
                           "shuffle_channels");
}

template <class P>
void cuda<P>::scale_channels_forward(int n, int c, int hw, const T* x, const T* s, T* y) const {
  cuda_detail::launch_each(stream_, static_cast<std::size_t>(n) * c * hw,
                           cuda_detail::scale_channels_fn<T>{std::size_t(hw), x, s, y}, "scale_channels_forward");
}

template <class P>
void cuda<P>::scale_channels_backward(int n, int c, int hw, const T* x, const T* s, const T* dy, T* dx, T* ds,
                                      bool accumulate) const {
  if (ds)
    cuda_detail::launch_each(stream_, static_cast<std::size_t>(n) * c,
                             cuda_detail::scale_channels_ds_fn<T>{std::size_t(hw), x, dy, ds},
                             "scale_channels_backward (scale)");
  if (dx)
    cuda_detail::launch_each(stream_, static_cast<std::size_t>(n) * c * hw,
                             cuda_detail::scale_channels_dx_fn<T>{std::size_t(hw), s, dy, dx, accumulate},
                             "scale_channels_backward (input)");
}

template <class P>
void cuda<P>::bernoulli_mask(std::size_t count, float drop, bool rescale, std::uint64_t key, T* mask) const {
  const float scale = rescale && drop < 1.0f ? 1.0f / (1.0f - drop) : 1.0f;
  cuda_detail::launch_each(stream_, count, cuda_detail::bernoulli_mask_fn<T>{drop, scale, key, mask, ctx_->active_step_seed()},
                           "bernoulli_mask");
}

}  // namespace cnnzoo::exec
