#pragma once
#ifndef CNNZOO_CUDA_POLICY_INTERNAL
#error "cnnzoo: the headers of exec/cuda/ are internal; include <cnnzoo/exec/cuda/kernels.hpp> from one .cu file"
#endif
// The CUDA policy's ops of one family (included by kernels.hpp). Dense layers: row-major (n, in) x
// (out, in)^T, written for column-major cuBLAS as y^T = W' x^T. Eigen: exec/eigen/dense.hpp;
// arithmetic: dense_functors.hpp.

namespace cnnzoo::exec {

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

}  // namespace cnnzoo::exec
