#pragma once
#ifndef CNNZOO_CUDA_POLICY_INTERNAL
#error "cnnzoo: the headers of exec/cuda/ are internal; include <cnnzoo/exec/cuda/kernels.hpp> from one .cu file"
#endif
// The CUDA policy's ops of one family (included by kernels.hpp). Attention pieces: channel
// statistics, spatial scaling, softmax. Eigen: exec/eigen/attention.hpp; arithmetic:
// attention_functors.hpp.

namespace cnnzoo::exec {

template <class P>
void cuda<P>::channel_pool_forward(pool_kind k, int n, int c, int hw, const T* x, T* y) const {
  cuda_detail::launch_each(stream_, static_cast<std::size_t>(n) * hw,
                           cuda_detail::channel_pool_forward_fn<T>{k, std::size_t(c), std::size_t(hw), x, y},
                           "channel_pool_forward");
}

template <class P>
void cuda<P>::channel_pool_backward(pool_kind k, int n, int c, int hw, const T* x, const T* dy, T* dx) const {
  cuda_detail::launch_each(stream_, static_cast<std::size_t>(n) * hw,
                           cuda_detail::channel_pool_backward_fn<T>{k, std::size_t(c), std::size_t(hw), x, dy, dx},
                           "channel_pool_backward");
}

template <class P>
void cuda<P>::scale_spatial_forward(int n, int c, int hw, const T* x, const T* s, T* y) const {
  cuda_detail::launch_each(stream_, static_cast<std::size_t>(n) * c * hw,
                           cuda_detail::scale_spatial_fn<T>{std::size_t(c), std::size_t(hw), x, s, y},
                           "scale_spatial_forward");
}

template <class P>
void cuda<P>::scale_spatial_backward(int n, int c, int hw, const T* x, const T* s, const T* dy, T* dx, T* ds,
                                     bool accumulate) const {
  if (ds)
    cuda_detail::launch_each(stream_, static_cast<std::size_t>(n) * hw,
                             cuda_detail::scale_spatial_ds_fn<T>{std::size_t(c), std::size_t(hw), x, dy, ds},
                             "scale_spatial_backward (scale)");
  if (dx)
    cuda_detail::launch_each(stream_, static_cast<std::size_t>(n) * c * hw,
                             cuda_detail::scale_spatial_dx_fn<T>{std::size_t(c), std::size_t(hw), s, dy, dx, accumulate},
                             "scale_spatial_backward (input)");
}

template <class P>
void cuda<P>::softmax_forward(const softmax_geometry& g, const T* x, T* y) const {
  const auto b = cuda_detail::softmax_lines::of(g);
  cuda_detail::launch_each(stream_, b.outer * b.inner, cuda_detail::softmax_forward_fn<T>{b, x, y}, "softmax_forward");
}

template <class P>
void cuda<P>::softmax_backward(const softmax_geometry& g, const T* y, const T* dy, T* dx) const {
  const auto b = cuda_detail::softmax_lines::of(g);
  cuda_detail::launch_each(stream_, b.outer * b.inner, cuda_detail::softmax_backward_fn<T>{b, y, dy, dx},
                           "softmax_backward");
}

}  // namespace cnnzoo::exec
