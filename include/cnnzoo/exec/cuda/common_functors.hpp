#pragma once
#ifndef CNNZOO_CUDA_POLICY_INTERNAL
#error "cnnzoo: the headers of exec/cuda/ are internal; include <cnnzoo/exec/cuda.hpp>"
#endif
// The CUDA policy's arithmetic, one functor per op (see functors.hpp). Shared by every family: the
// element types' conversions, bias addition, and the per-channel partial sums behind BatchNorm and
// bias gradients. A channel's values are the n * hw elements (img, p) at (img * C + c) * hw + p;
// the GPU splits them into `slices` contiguous runs, sums each in one block (partial[c * slices +
// s]), and a per-channel finaliser adds the runs in order, in double: deterministic, and no
// atomics.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "../../core/rng.hpp"
#include "../vocabulary.hpp"

namespace cnnzoo::exec::cuda_detail {

using index_t = std::size_t;

template <class T> CNNZOO_HD inline float to_float(T v) { return static_cast<float>(v); }

template <class T> CNNZOO_HD inline T from_float(float v) { return T(v); }

template <> CNNZOO_HD inline float to_float<float>(float v) { return v; }

template <> CNNZOO_HD inline float from_float<float>(float v) { return v; }

// Finite without <cmath>'s host/device split: inf - inf and NaN - NaN are NaN.
CNNZOO_HD inline bool finite(float v) { return v - v == 0.0f; }

CNNZOO_HD inline float clampf(float x, float lo, float hi) { return x < lo ? lo : (x > hi ? hi : x); }

template <class From, class To>
struct convert_fn {
  const From* x; To* y;
  CNNZOO_HD void operator()(index_t i) const { y[i] = from_float<To>(to_float(x[i])); }
};

// y[i] += b[channel of i]: conv bias (hw = oh * ow) and dense bias (hw = 1), NCHW.
template <class T>
struct bias_add_fn {
  index_t hw; index_t channels; const float* b; T* y;
  CNNZOO_HD void operator()(index_t i) const { y[i] = from_float<T>(to_float(y[i]) + b[(i / hw) % channels]); }
};

// A channel's values are the n * hw elements (img, p) at (img * C + c) * hw + p. The GPU splits
// them into `slices` contiguous runs, sums each in one block (partial[c * slices + s]), and a
// per-channel finaliser adds the runs in order, in double: deterministic, and no atomics.

struct sum2 { float a, b; };

CNNZOO_HD inline index_t channel_element(index_t c, index_t j, index_t channels, index_t hw) {
  return ((j / hw) * channels + c) * hw + j % hw;
}

// The values summed for BatchNorm's mean, its variance (around the mean already found), the
// backward pass (dy and dy * xhat), and a convolution's bias gradient (dy).
template <class T>
struct sum_x_fn {
  const T* x;
  CNNZOO_HD sum2 operator()(index_t at, index_t) const { return {to_float(x[at]), 0.0f}; }
};

CNNZOO_HD inline double total_a(const sum2* p, index_t slices, index_t c) {
  double s = 0;
  for (index_t k = 0; k < slices; ++k) s += p[c * slices + k].a;
  return s;
}

CNNZOO_HD inline double total_b(const sum2* p, index_t slices, index_t c) {
  double s = 0;
  for (index_t k = 0; k < slices; ++k) s += p[c * slices + k].b;
  return s;
}

struct channel_total_fn {
  const sum2* partial; index_t slices; float* out;
  CNNZOO_HD void operator()(index_t c) const { out[c] = static_cast<float>(total_a(partial, slices, c)); }
};

}  // namespace cnnzoo::exec::cuda_detail
