#pragma once
#ifndef CNNZOO_EIGEN_POLICY_INTERNAL
#error "cnnzoo: the headers of exec/eigen/ are internal; include <cnnzoo/exec/eigen.hpp>"
#endif
// Shared pieces of the Eigen policy's kernels: matrix maps and the OpenMP switch.
#include <Eigen/Core>
#include <cstddef>
#include <vector>
#ifdef _OPENMP
#include <omp.h>
#endif

namespace cnnzoo::exec::eigen_detail {

template <class T> using row_matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T> using matrix_map = Eigen::Map<row_matrix<T>>;
template <class T> using const_matrix_map = Eigen::Map<const row_matrix<T>>;
template <class T> using vector_map = Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, 1>>;
template <class T> using const_vector_map = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>>;

// Below this many elements a parallel region costs more than it saves.
inline constexpr std::ptrdiff_t parallel_threshold = 1 << 14;

inline int max_threads() noexcept {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}
inline int thread_index() noexcept {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

// Scratch that grows to the largest request and is then reused: no allocation in steady state.
template <class T>
T* scratch(std::vector<T>& v, std::size_t count) {
  if (v.size() < count) v.resize(count);
  return v.data();
}

}  // namespace cnnzoo::exec::eigen_detail
