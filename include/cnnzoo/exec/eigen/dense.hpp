#pragma once
#include "common.hpp"
#include "gemm.hpp"
// Dense layers: (batch, features) matrices times a weight matrix.
#include <algorithm>
#include <cmath>
#include <cstdint>

namespace cnnzoo::exec::eigen_detail {

// y[n][out] = x[n][in] * w[out][in]^T + b
template <class T>
void dense_forward(int n, int in, int out, const T* x, const T* w, const T* b, T* y) {
  gemm(false, true, n, out, in, x, in, w, in, y, out, accumulate::no);
  if (b) matrix_map<T>(y, n, out).rowwise() += const_vector_map<T>(b, out).transpose();
}

// dw and db (if non-null) are overwritten, dx too when non-null.
template <class T>
void dense_backward(int n, int in, int out, const T* x, const T* w, const T* dy, T* dx, T* dw, T* db) {
  gemm(true, false, out, in, n, dy, out, x, in, dw, in, accumulate::no);
  if (db) vector_map<T>(db, out) = const_matrix_map<T>(dy, n, out).colwise().sum().transpose();
  if (dx) gemm(false, false, n, in, out, dy, out, w, in, dx, in, accumulate::no);
}

}  // namespace cnnzoo::exec::eigen_detail
