#pragma once
#ifndef CNNZOO_CUDA_POLICY_INTERNAL
#error "cnnzoo: the headers of exec/cuda/ are internal; include <cnnzoo/exec/cuda.hpp>"
#endif
// The CUDA policy's arithmetic, one functor per op (see functors.hpp). Dense layers: the bias
// gradient's column sums (the products are cuBLAS's; Eigen: exec/eigen/dense.hpp).
#include <cstddef>
#include <cstdint>

#include "common_functors.hpp"

namespace cnnzoo::exec::cuda_detail {

// db[o] = sum over rows of dy[row][o]: the dense bias gradient, one thread per column.
template <class T>
struct column_sum_fn {
  index_t rows, cols; const T* dy; float* db;
  CNNZOO_HD void operator()(index_t o) const {
    float s = 0.0f;
    for (index_t r = 0; r < rows; ++r) s += to_float(dy[r * cols + o]);
    db[o] = s;
  }
};

}  // namespace cnnzoo::exec::cuda_detail
