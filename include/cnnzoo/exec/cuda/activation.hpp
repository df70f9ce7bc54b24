#pragma once
#ifndef CNNZOO_CUDA_POLICY_INTERNAL
#error "cnnzoo: the headers of exec/cuda/ are internal; include <cnnzoo/exec/cuda/kernels.hpp> from one .cu file"
#endif
// The CUDA policy's ops of one family (included by kernels.hpp). Activations, forward and backward.
// Eigen: exec/eigen/activation.hpp; arithmetic: activation_functors.hpp.

namespace cnnzoo::exec {

template <class P>
void cuda<P>::activation_forward(activation a, std::size_t count, const T* x, T* y) const {
  cuda_detail::launch_each(stream_, count, cuda_detail::activation_forward_fn<T>{a, x, y}, activation_name(a));
}

template <class P>
void cuda<P>::activation_backward(activation a, std::size_t count, const T* x, const T* y, const T* dy, T* dx) const {
  cuda_detail::launch_each(stream_, count, cuda_detail::activation_backward_fn<T>{a, x, y, dy, dx}, activation_name(a));
}

}  // namespace cnnzoo::exec
