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
#include "functors.hpp"
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

}  // namespace cnnzoo::exec

// The ops, one header per family, side by side with exec/eigen/<family>.hpp.
#define CNNZOO_CUDA_POLICY_INTERNAL
#include "activation.hpp"
#include "attention.hpp"
#include "channels.hpp"
#include "conv.hpp"
#include "dense.hpp"
#include "device_steps.hpp"
#include "elementwise.hpp"
#include "loss.hpp"
#include "norm.hpp"
#include "pool.hpp"
#undef CNNZOO_CUDA_POLICY_INTERNAL

namespace cnnzoo::exec {

// The three precisions, compiled here once for the whole program.
template class cuda<fp32>;
template class cuda<bf16>;
template class cuda<fp16>;

}  // namespace cnnzoo::exec
