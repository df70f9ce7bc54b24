#pragma once
#ifndef CNNZOO_CUDA_POLICY_INTERNAL
#error "cnnzoo: the headers of exec/cuda/ are internal; include <cnnzoo/exec/cuda/kernels.hpp> from one .cu file"
#endif
// The CUDA policy's ops of one family (included by kernels.hpp). Elementwise arithmetic, channel
// blocks, dropout and the augmentation renderer. Eigen: exec/eigen/elementwise.hpp; arithmetic:
// elementwise_functors.hpp.

namespace cnnzoo::exec {

template <class P>
void cuda<P>::copy(std::size_t count, const T* x, T* y) const {
  if (x == y || count == 0) return;
  cuda_detail::check_cuda(cudaMemcpyAsync(y, x, count * sizeof(T), cudaMemcpyDeviceToDevice, stream_), "copy");
}

template <class P>
void cuda<P>::fill(std::size_t count, T value, T* y) const {
  cuda_detail::launch_each(stream_, count, cuda_detail::fill_fn<T>{value, y}, "fill");
}

template <class P>
void cuda<P>::add(std::size_t count, const T* a, const T* b, T* y) const {
  cuda_detail::launch_each(stream_, count, cuda_detail::add_fn<T>{a, b, y}, "add");
}

template <class P>
void cuda<P>::axpby(std::size_t count, T alpha, const T* x, T beta, T* y) const {
  using cuda_detail::to_float;
  cuda_detail::launch_each(stream_, count, cuda_detail::axpby_fn<T>{to_float(alpha), to_float(beta), x, y}, "axpby");
}

template <class P>
void cuda<P>::copy_channels(const channel_copy& b, const T* src, T* dst, bool accumulate) const {
  if (b.n == 0 || b.count == 0 || b.hw == 0) return;
  if (accumulate) {
    cuda_detail::launch_each(stream_, static_cast<std::size_t>(b.n) * b.count * b.hw,
                             cuda_detail::channel_add_fn<T>{b, src, dst}, "copy_channels (accumulate)");
    return;
  }
  // n rows of count * hw values, strided by each side's channels.
  const std::size_t hw = static_cast<std::size_t>(b.hw);
  cuda_detail::check_cuda(
      cudaMemcpy2DAsync(dst + static_cast<std::size_t>(b.dst_off) * hw, static_cast<std::size_t>(b.dst_c) * hw * sizeof(T),
                        src + static_cast<std::size_t>(b.src_off) * hw, static_cast<std::size_t>(b.src_c) * hw * sizeof(T),
                        static_cast<std::size_t>(b.count) * hw * sizeof(T), static_cast<std::size_t>(b.n),
                        cudaMemcpyDeviceToDevice, stream_),
      "copy_channels");
}

template <class P>
void cuda<P>::dropout_forward(std::size_t count, float rate, std::uint64_t key, const T* x, T* mask, T* y) const {
  const float scale = rate < 1.0f ? 1.0f / (1.0f - rate) : 0.0f;
  cuda_detail::launch_each(stream_, count, cuda_detail::dropout_fn<T>{rate, scale, key, x, mask, y, ctx_->active_step_seed()},
                           "dropout_forward");
}

template <class P>
void cuda<P>::multiply(std::size_t count, const T* x, const T* m, T* y) const {
  cuda_detail::launch_each(stream_, count, cuda_detail::multiply_fn<T>{x, m, y}, "multiply");
}

template <class P>
void cuda<P>::render_batch(const ops::render_geometry& g, int n, const ops::image_recipe* recipes,
                           const std::uint8_t* pixels, const float* norm, T* out) const {
  cuda_detail::launch_each(stream_, static_cast<std::size_t>(n) * g.c * g.h * g.w,
                           cuda_detail::render_fn<T>{g, recipes, pixels, norm, out}, "render_batch (augmentation)");
}

}  // namespace cnnzoo::exec
