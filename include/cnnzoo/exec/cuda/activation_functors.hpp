#pragma once
#ifndef CNNZOO_CUDA_POLICY_INTERNAL
#error "cnnzoo: the headers of exec/cuda/ are internal; include <cnnzoo/exec/cuda.hpp>"
#endif
// The CUDA policy's arithmetic, one functor per op (see functors.hpp). Activations, forward and
// backward (Eigen: exec/eigen/activation.hpp).
#include <cstddef>
#include <cstdint>

#include "common_functors.hpp"

namespace cnnzoo::exec::cuda_detail {

CNNZOO_HD inline float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

// Same definitions as the Eigen policy (exec/eigen/activation.hpp), in float.
CNNZOO_HD inline float activate(activation a, float x) {
  switch (a) {
    case activation::identity: return x;
    case activation::relu: return x > 0.0f ? x : 0.0f;
    case activation::relu6: return clampf(x, 0.0f, 6.0f);
    case activation::sigmoid: return sigmoidf(x);
    case activation::hard_sigmoid: return clampf(x + 3.0f, 0.0f, 6.0f) / 6.0f;
    case activation::swish: return x * sigmoidf(x);
    case activation::hard_swish: return x * (clampf(x + 3.0f, 0.0f, 6.0f) / 6.0f);
  }
  return x;
}

CNNZOO_HD inline float activate_grad(activation a, float x, float y) {
  switch (a) {
    case activation::identity: return 1.0f;
    case activation::relu: return x > 0.0f ? 1.0f : 0.0f;
    case activation::relu6: return (x > 0.0f && x < 6.0f) ? 1.0f : 0.0f;
    case activation::sigmoid: return y * (1.0f - y);
    case activation::hard_sigmoid: return (x > -3.0f && x < 3.0f) ? 1.0f / 6.0f : 0.0f;
    case activation::swish: { const float s = sigmoidf(x); return s * (1.0f + x * (1.0f - s)); }
    case activation::hard_swish:
      if (x <= -3.0f) return 0.0f;
      if (x >= 3.0f) return 1.0f;
      return (2.0f * x + 3.0f) / 6.0f;
  }
  return 1.0f;
}

template <class T>
struct activation_forward_fn {
  activation a; const T* x; T* y;
  CNNZOO_HD void operator()(index_t i) const { y[i] = from_float<T>(activate(a, to_float(x[i]))); }
};

template <class T>
struct activation_backward_fn {
  activation a; const T* x; const T* y; const T* dy; T* dx;
  CNNZOO_HD void operator()(index_t i) const {
    dx[i] = from_float<T>(to_float(dy[i]) * activate_grad(a, to_float(x[i]), to_float(y[i])));
  }
};

}  // namespace cnnzoo::exec::cuda_detail
