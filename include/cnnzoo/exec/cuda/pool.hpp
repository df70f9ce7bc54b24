#pragma once
#ifndef CNNZOO_CUDA_POLICY_INTERNAL
#error "cnnzoo: the headers of exec/cuda/ are internal; include <cnnzoo/exec/cuda/kernels.hpp> from one .cu file"
#endif
// The CUDA policy's ops of one family (included by kernels.hpp). Window and global pooling. Eigen:
// exec/eigen/pool.hpp; arithmetic: pool_functors.hpp.

namespace cnnzoo::exec {

template <class P>
void cuda<P>::pool_forward(pool_kind k, const pool_geometry& g, const T* x, T* y) const {
  const std::size_t count = static_cast<std::size_t>(g.n) * g.c * g.oh * g.ow;
  cuda_detail::launch_each(stream_, count, cuda_detail::pool_forward_fn<T>{k, g, x, y}, "pool_forward");
}

template <class P>
void cuda<P>::pool_backward(pool_kind k, const pool_geometry& g, const T* x, const T* dy, T* dx) const {
  const std::size_t count = static_cast<std::size_t>(g.n) * g.c * g.h * g.w;
  cuda_detail::launch_each(stream_, count, cuda_detail::pool_backward_fn<T>{k, g, x, dy, dx}, "pool_backward");
}

template <class P>
void cuda<P>::global_pool_forward(pool_kind k, int n, int c, int hw, const T* x, T* y) const {
  cuda_detail::launch_each(stream_, static_cast<std::size_t>(n) * c,
                           cuda_detail::global_pool_forward_fn<T>{k, static_cast<std::size_t>(hw), x, y},
                           "global_pool_forward");
}

template <class P>
void cuda<P>::global_pool_backward(pool_kind k, int n, int c, int hw, const T* x, const T* dy, T* dx) const {
  cuda_detail::launch_each(stream_, static_cast<std::size_t>(n) * c,
                           cuda_detail::global_pool_backward_fn<T>{k, static_cast<std::size_t>(hw), x, dy, dx},
                           "global_pool_backward");
}

}  // namespace cnnzoo::exec
