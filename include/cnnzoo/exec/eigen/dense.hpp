#pragma once
#include "common.hpp"
// Dense layers: (batch, features) matrices times a weight matrix.
#include <algorithm>
#include <cmath>
#include <cstdint>

namespace cnnzoo::exec::eigen_detail {

// y[n][out] = x[n][in] * w[out][in]^T + b
template <class T>
void dense_forward(int n, int in, int out, const T* x, const T* w, const T* b, T* y) {
  matrix_map<T> ym(y, n, out);
  ym.noalias() = const_matrix_map<T>(x, n, in) * const_matrix_map<T>(w, out, in).transpose();
  if (b) ym.rowwise() += const_vector_map<T>(b, out).transpose();
}

// dw and db (if non-null) are overwritten, dx too when non-null.
template <class T>
void dense_backward(int n, int in, int out, const T* x, const T* w, const T* dy, T* dx, T* dw, T* db) {
  const_matrix_map<T> dym(dy, n, out);
  matrix_map<T>(dw, out, in).noalias() = dym.transpose() * const_matrix_map<T>(x, n, in);
  if (db) vector_map<T>(db, out) = dym.colwise().sum().transpose();
  if (dx) matrix_map<T>(dx, n, in).noalias() = dym * const_matrix_map<T>(w, out, in);
}

}  // namespace cnnzoo::exec::eigen_detail
