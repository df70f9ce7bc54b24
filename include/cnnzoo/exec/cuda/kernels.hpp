#pragma once
// The bodies of the CUDA policy's ops and its device code. Include this from exactly one .cu file
// of a program (nvcc -std=c++20 -arch=sm_90); it instantiates cuda<fp32>, cuda<bf16> and
// cuda<fp16>, which every other translation unit, compiled by the host compiler, links against:
//
//   // cnnzoo_cuda.cu
//   #include <cnnzoo/exec/cuda/kernels.hpp>
#ifndef __CUDACC__
#error "cnnzoo: <cnnzoo/exec/cuda/kernels.hpp> holds device code: include it from one .cu file compiled by nvcc"
#endif
#include "../cuda.hpp"
#include "cudnn_version.hpp"

#define CNNZOO_CUDA_POLICY_INTERNAL
#include "detail_context.hpp"
#include "detail_functors.hpp"
#include "detail_kernels.hpp"
#undef CNNZOO_CUDA_POLICY_INTERNAL

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <numeric>
#include <stdexcept>

namespace cnnzoo::exec {

// ---- lifetime -------------------------------------------------------------------------------------------

namespace cuda_detail {
// The cuDNN this process loaded, checked once per process (cudnn_version.hpp): another major
// version is refused; an older minor than the headers is refused under
// cuda_options::require_supported_cudnn or CNNZOO_CUDNN_STRICT=1, else named in one warning.
inline void check_cudnn_library(bool strict) {
  static const cudnn_versions v = cudnn_library();
  if (v.supported()) return;
  const char* env = std::getenv("CNNZOO_CUDNN_STRICT");
  if (!v.same_major() || strict || (env && std::string(env) == "1"))
    throw cuda_error("cnnzoo: " + v.describe());
  static std::once_flag warned;
  std::call_once(warned, [] { std::fprintf(stderr, "cnnzoo: warning: %s\n", v.describe().c_str()); });
}
}  // namespace cuda_detail

template <class P>
cuda<P>::cuda(cuda_options options) : options_(options) {
  const std::string why = cuda_unavailable_reason();
  if (!why.empty()) throw cuda_error(std::string("cnnzoo: ") + std::string(name) + " policy: no usable CUDA device (" + why + ")");
  if (options.workspace_limit == 0) throw std::invalid_argument("cnnzoo: cuda_options::workspace_limit must be positive");
  if (!std::is_same_v<P, fp32> && options.tf32)
    throw std::invalid_argument("cnnzoo: cuda_options::tf32 applies to cuda<fp32> only (16-bit precisions use tensor cores anyway)");
  cuda_detail::check_cudnn_library(options.require_supported_cudnn);
  ctx_ = std::make_unique<cuda_detail::context<P>>(options_);
  stream_ = ctx_->stream;
}
template <class P> cuda<P>::cuda(cuda&&) noexcept = default;
template <class P> cuda<P>& cuda<P>::operator=(cuda&&) noexcept = default;
template <class P> cuda<P>::~cuda() = default;

template <class P>
void cuda<P>::transfer(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind, const char* op) const {
  if (bytes == 0) return;
  cuda_detail::check_cuda(cudaMemcpyAsync(dst, src, bytes, kind, stream_), op, cuda_detail::mib(bytes));
  cuda_detail::check_cuda(cudaStreamSynchronize(stream_), op, cuda_detail::mib(bytes));
}

template <class P>
void cuda<P>::synchronize() const {
  cuda_detail::check_cuda(cudaStreamSynchronize(stream_), "synchronize");
}

// ---- parameters ------------------------------------------------------------------------------------------

template <class P>
void cuda<P>::bind_parameters(W* params, W* grads, std::size_t count) {
  auto& c = *ctx_;
  c.params = params;
  c.grads = grads;
  c.count = count;
  c.stale = true;
  c.scaled = cuda_detail::scaled_gradients{grads, count, false};
  if constexpr (cuda_detail::context<P>::half_precision)
    c.work = buffer<T>(count, stream_, "the compute-dtype copy of the parameters");
}

template <class P>
void cuda<P>::parameters_changed() const noexcept {
  ctx_->stale = true;
}

template <class P>
void cuda<P>::note_parameter_write(const W* dst, std::size_t count) const noexcept {
  if (ctx_->overlaps_params(dst, count)) ctx_->stale = true;
}

template <class P>
std::size_t cuda<P>::algorithm_searches() {
  return cuda_detail::algo_cache::instance().searches();
}

template <class P>
double cuda<P>::loss_scale() const {
  cuda_detail::loss_scale_state s;
  transfer(&s, ctx_->ls.data(), sizeof s, cudaMemcpyDeviceToHost, "loss_scale");
  return s.scale;
}

template <class P>
long cuda<P>::skipped_steps() const {
  cuda_detail::loss_scale_state s;
  transfer(&s, ctx_->ls.data(), sizeof s, cudaMemcpyDeviceToHost, "skipped_steps");
  return s.skipped_steps;
}

// ---- convolution ------------------------------------------------------------------------------------------

template <class P>
void cuda<P>::conv2d_forward(const conv_geometry& g, const T* x, const W* w, const W* b, T* y) const {
  using namespace cuda_detail;
  auto& c = *ctx_;
  const auto what = [&] { return g.describe(); };
  const std::size_t wcount = static_cast<std::size_t>(g.k) * (g.c / g.groups) * g.kh * g.kw;
  const T* wt = c.weights(w, wcount, c.weights_tmp);
  conv_plan& p = c.plan(g, alignment_of({x, wt, y}));
  c.choose_forward(p, g, x, wt, y);
  const float one = 1.0f, zero = 0.0f;
  check_cudnn(cudnnConvolutionForward(c.cudnn, &one, p.x.d, x, p.w.d, wt, p.forward_conv.d, p.forward_algo,
                                      c.workspace.data(), p.forward_bytes, &zero, p.y.d, y),
              "conv2d_forward", what);
  if (b) {
    const index_t hw = static_cast<index_t>(g.oh) * g.ow;
    launch_each(stream_, static_cast<index_t>(g.n) * g.k * hw, bias_add_fn<T>{hw, static_cast<index_t>(g.k), b, y},
                "conv2d_forward (bias)");
  }
}

template <class P>
void cuda<P>::conv2d_backward(const conv_geometry& g, const T* x, const W* w, const T* dy, T* dx, W* dw,
                              W* db) const {
  using namespace cuda_detail;
  auto& c = *ctx_;
  const auto what = [&] { return g.describe(); };
  const std::size_t wcount = static_cast<std::size_t>(g.k) * (g.c / g.groups) * g.kh * g.kw;
  const float one = 1.0f, zero = 0.0f;
  if (db) {
    const index_t hw = static_cast<index_t>(g.oh) * g.ow, per = static_cast<index_t>(g.n) * hw;
    const index_t k = static_cast<index_t>(g.k), slices = channel_slices(k, per);
    sum2* part = c.partial.get(k * slices, stream_);
    launch_channel_partials(stream_, sum_x_fn<T>{dy}, k, slices, per, hw, part, "conv2d_backward (bias)");
    launch_each(stream_, k, channel_total_fn{part, slices, db}, "conv2d_backward (bias)");
  }
  // The filter gradient in the compute type, then (16-bit) widened into the float gradients.
  T* dwt;
  if constexpr (std::is_same_v<T, float>) dwt = dw;
  else dwt = c.weight_grad_tmp.get(wcount, stream_);
  conv_plan& pf = c.plan(g, alignment_of({x, dy, dwt}));
  c.choose_filter(pf, g, x, dy, dwt);
  check_cudnn(cudnnConvolutionBackwardFilter(c.cudnn, &one, pf.x.d, x, pf.y.d, dy, pf.filter_conv.d, pf.filter_algo,
                                             c.workspace.data(), pf.filter_bytes, &zero, pf.w.d, dwt),
              "conv2d_backward (filter)", what);
  if constexpr (!std::is_same_v<T, float>)
    launch_each(stream_, wcount, convert_fn<T, float>{dwt, dw}, "conv2d_backward (filter gradient to fp32)");
  if (dx) {
    const T* wt = c.weights(w, wcount, c.weights_tmp);
    conv_plan& pd = c.plan(g, alignment_of({wt, dy, dx}));
    c.choose_data(pd, g, wt, dy, dx);
    check_cudnn(cudnnConvolutionBackwardData(c.cudnn, &one, pd.w.d, wt, pd.y.d, dy, pd.data_conv.d, pd.data_algo,
                                             c.workspace.data(), pd.data_bytes, &zero, pd.x.d, dx),
                "conv2d_backward (data)", what);
  }
}

// ---- batch normalisation -------------------------------------------------------------------------------------

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

// ---- activation, pooling ---------------------------------------------------------------------------------------

template <class P>
void cuda<P>::activation_forward(activation a, std::size_t count, const T* x, T* y) const {
  cuda_detail::launch_each(stream_, count, cuda_detail::activation_forward_fn<T>{a, x, y}, activation_name(a));
}
template <class P>
void cuda<P>::activation_backward(activation a, std::size_t count, const T* x, const T* y, const T* dy, T* dx) const {
  cuda_detail::launch_each(stream_, count, cuda_detail::activation_backward_fn<T>{a, x, y, dy, dx}, activation_name(a));
}

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

// ---- dense: row-major (n, in) x (out, in)^T, written for column-major cuBLAS as y^T = W' x^T -----------------

template <class P>
void cuda<P>::dense_forward(int n, int in, int out, const T* x, const W* w, const W* b, T* y) const {
  using namespace cuda_detail;
  auto& c = *ctx_;
  const auto what = [&] { return "dense " + std::to_string(n) + "x" + std::to_string(in) + " -> " + std::to_string(out); };
  const T* wt = c.weights(w, static_cast<std::size_t>(out) * in, c.weights_tmp);
  const float one = 1.0f, zero = 0.0f;
  const cublasComputeType_t compute =
      std::is_same_v<T, float> && options_.tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  check_cublas(cublasGemmEx(c.cublas, CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, &one, wt, blas_type<T>(), in, x,
                            blas_type<T>(), in, &zero, y, blas_type<T>(), out, compute, CUBLAS_GEMM_DEFAULT),
               "dense_forward", what);
  if (b)
    launch_each(stream_, static_cast<index_t>(n) * out, bias_add_fn<T>{1, static_cast<index_t>(out), b, y},
                "dense_forward (bias)");
}

template <class P>
void cuda<P>::dense_backward(int n, int in, int out, const T* x, const W* w, const T* dy, T* dx, W* dw, W* db) const {
  using namespace cuda_detail;
  auto& c = *ctx_;
  const auto what = [&] { return "dense " + std::to_string(n) + "x" + std::to_string(in) + " -> " + std::to_string(out); };
  const float one = 1.0f, zero = 0.0f;
  const cublasComputeType_t compute =
      std::is_same_v<T, float> && options_.tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  // dw (out, in) row-major = (in, out) column-major = x^T' dy'^T, written straight into fp32.
  check_cublas(cublasGemmEx(c.cublas, CUBLAS_OP_N, CUBLAS_OP_T, in, out, n, &one, x, blas_type<T>(), in, dy,
                            blas_type<T>(), out, &zero, dw, CUDA_R_32F, in, compute, CUBLAS_GEMM_DEFAULT),
               "dense_backward (weights)", what);
  if (db)
    launch_each(stream_, static_cast<index_t>(out),
                column_sum_fn<T>{static_cast<index_t>(n), static_cast<index_t>(out), dy, db}, "dense_backward (bias)");
  if (dx) {
    const T* wt = c.weights(w, static_cast<std::size_t>(out) * in, c.weights_tmp);
    check_cublas(cublasGemmEx(c.cublas, CUBLAS_OP_N, CUBLAS_OP_N, in, n, out, &one, wt, blas_type<T>(), in, dy,
                              blas_type<T>(), out, &zero, dx, blas_type<T>(), in, compute, CUBLAS_GEMM_DEFAULT),
                 "dense_backward (input)", what);
  }
}

// ---- elementwise and channel blocks ------------------------------------------------------------------------------

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

// ---- channel permutations, broadcast scaling, Bernoulli masks -------------------------------------------------------

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

// ---- attention pieces ----------------------------------------------------------------------------------------------

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

// ---- loss and optimiser --------------------------------------------------------------------------------------------

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

// ---- device steps ---------------------------------------------------------------------------------------------------

template <class P>
void cuda<P>::enable_device_steps() {
  using namespace cuda_detail;
  auto& c = *ctx_;
  if (!c.step.empty()) return;
  device_step init{};
  auto state = buffer<device_step>(1, stream_, "the device-step state");
  transfer(state.data(), &init, sizeof init, cudaMemcpyHostToDevice, "enable_device_steps");
  c.cublas_workspace = buffer<std::byte>(std::size_t{32} << 20, stream_, "the cuBLAS workspace");
  check_cublas(cublasSetWorkspace(c.cublas, c.cublas_workspace.data(), c.cublas_workspace.size()), "cublasSetWorkspace");
  for (staging_area& a : c.staging) {
    check_cuda(cudaEventCreateWithFlags(&a.copied, cudaEventDisableTiming), "cudaEventCreate");
    a.memory = pinned_buffer(std::size_t{1} << 20);
  }
  c.step = std::move(state);
}

template <class P>
void cuda<P>::set_device_step_active(bool on) const {
  if (on && ctx_->step.empty()) throw std::logic_error("cnnzoo: a device step needs enable_device_steps() first");
  ctx_->device_step_active = on;
}

template <class P>
bool cuda<P>::device_steps_enabled() const noexcept {
  return !ctx_->step.empty();
}

template <class P>
std::uint64_t cuda<P>::memory_generation() const noexcept {
  return cuda_detail::memory_generation.load();
}

template <class P>
void cuda<P>::refresh_compute_weights() const {
  ctx_->refresh();
}

template <class P>
void cuda<P>::stage(void* dst, const void* src, std::size_t bytes) {
  using namespace cuda_detail;
  auto& c = *ctx_;
  if (c.step.empty()) throw std::logic_error("cnnzoo: cuda::stage needs enable_device_steps() first");
  if (bytes == 0) return;
  staging_area& a = c.staging[c.staging_side];
  if (c.staging_used == 0 && a.pending) {
    // The copies of two steps ago must have left this half before it is overwritten; those of the
    // previous step use the other half, so the host stays up to two steps ahead of the GPU.
    check_cuda(cudaEventSynchronize(a.copied), "stage (waiting for earlier uploads)");
    a.pending = false;
  }
  std::size_t offset = (c.staging_used + 15) & ~std::size_t{15};
  if (offset + bytes > a.memory.size()) {
    // Copies queued from this half may still be reading it.
    check_cuda(cudaStreamSynchronize(stream_), "stage (growing the staging memory)");
    a.memory = pinned_buffer(std::max(2 * a.memory.size(), bytes + 16));
    offset = 0;
  }
  std::memcpy(a.memory.data() + offset, src, bytes);
  check_cuda(cudaMemcpyAsync(dst, a.memory.data() + offset, bytes, cudaMemcpyHostToDevice, stream_), "stage", mib(bytes));
  c.staging_used = offset + bytes;
}

template <class P>
void cuda<P>::set_step_inputs(double lr, std::uint64_t seed, std::int64_t step) {
  if (ctx_->step.empty()) throw std::logic_error("cnnzoo: cuda::set_step_inputs needs enable_device_steps() first");
  const cuda_detail::step_inputs in{lr, seed, static_cast<long long>(step)};
  stage(&ctx_->step.data()->in, &in, sizeof in);
}

template <class P>
void cuda<P>::finish_staging() {
  using namespace cuda_detail;
  auto& c = *ctx_;
  if (c.staging_used == 0) return;
  staging_area& a = c.staging[c.staging_side];
  check_cuda(cudaEventRecord(a.copied, stream_), "finish_staging");
  a.pending = true;
  c.staging_used = 0;
  c.staging_side ^= 1;
}

template <class P>
void cuda<P>::loss_and_accuracy(int n, int classes, const T* logits, const T* targets, const std::uint8_t* labels,
                                T* dlogits) const {
  using namespace cuda_detail;
  auto& c = *ctx_;
  if (c.step.empty()) throw std::logic_error("cnnzoo: cuda::loss_and_accuracy needs enable_device_steps() first");
  if (n <= 0) return;
  double* rows = c.step_rows.get(static_cast<std::size_t>(n), stream_);
  unsigned char* correct = c.step_correct.get(static_cast<std::size_t>(n), stream_);
  const loss_scale_state* ls = nullptr;
  if constexpr (context<P>::loss_scaling) {
    ls = c.ls.data();
    c.scaled.pending = true;
  }
  launch_each(stream_, static_cast<index_t>(n),
              softmax_xent_fn<T>{static_cast<index_t>(classes), 1.0 / n, logits, targets, dlogits, rows, ls, labels,
                                 correct},
              "loss_and_accuracy");
  launch_each(stream_, 1, step_finalize_fn{static_cast<index_t>(n), rows, correct, c.step.data()},
              "loss_and_accuracy (totals)");
}

template <class P>
void cuda<P>::sgd_update_device(std::size_t count, W* w, const W* grad, W* velocity, const W* decay_mask,
                                double momentum, double weight_decay, bool nesterov, double clip_norm) const {
  using namespace cuda_detail;
  auto& c = *ctx_;
  if (c.step.empty()) throw std::logic_error("cnnzoo: cuda::sgd_update_device needs enable_device_steps() first");
  const bool clip = clip_norm > 0;
  if (clip) {
    const index_t blocks = reduction_blocks(count);
    double* part = c.clip_partial.get(blocks, stream_);
    launch_sum_of_squares(stream_, grad, count, blocks, part);
    const loss_scale_state* ls = nullptr;
    if constexpr (context<P>::loss_scaling)
      if (c.scaled.carries_scale(grad, count)) ls = c.ls.data();
    launch_each(stream_, 1, clip_scale_fn{blocks, part, clip_norm, ls, c.step.data()}, "sgd_update (clipping)");
  }
  sgd_launch(count, w, grad, velocity, decay_mask, 0.0, momentum, weight_decay, nesterov, 1.0, true, clip);
}

template <class P>
ops::step_totals cuda<P>::take_step_totals() {
  auto& c = *ctx_;
  if (c.step.empty()) throw std::logic_error("cnnzoo: cuda::take_step_totals needs enable_device_steps() first");
  ops::step_totals t;
  ops::step_totals* on_device = &c.step.data()->totals;
  transfer(&t, on_device, sizeof t, cudaMemcpyDeviceToHost, "take_step_totals");
  const ops::step_totals zero{};
  transfer(on_device, &zero, sizeof zero, cudaMemcpyHostToDevice, "take_step_totals (reset)");
  return t;
}

// The three precisions, compiled here once for the whole program.
template class cuda<fp32>;
template class cuda<bf16>;
template class cuda<fp16>;

}  // namespace cnnzoo::exec
