#pragma once
#ifndef CNNZOO_CUDA_POLICY_INTERNAL
#error "cnnzoo: the headers of exec/cuda/ are internal; include <cnnzoo/exec/cuda.hpp>"
#endif
// The CUDA policy's arithmetic, one functor per op (see functors.hpp). BatchNorm: the per-channel
// sums' values, statistics, the normalisation and its backward pass (Eigen: exec/eigen/norm.hpp).
#include <cstddef>
#include <cstdint>

#include "common_functors.hpp"

namespace cnnzoo::exec::cuda_detail {

template <class T>
struct sum_sq_dev_fn {
  const T* x; const float* mean;
  CNNZOO_HD sum2 operator()(index_t at, index_t c) const {
    const float d = to_float(x[at]) - mean[c];
    return {d * d, 0.0f};
  }
};

template <class T>
struct sum_bn_backward_fn {
  const T* x; const T* dy; const float* mean; const float* invstd;
  CNNZOO_HD sum2 operator()(index_t at, index_t c) const {
    const float g = to_float(dy[at]);
    return {g, g * (to_float(x[at]) - mean[c]) * invstd[c]};
  }
};

struct bn_mean_fn {
  const sum2* partial; index_t slices; double count; float* save_mean;
  CNNZOO_HD void operator()(index_t c) const { save_mean[c] = static_cast<float>(total_a(partial, slices, c) / count); }
};

// Biased variance for normalising, unbiased for the running estimate (as PyTorch and Keras).
struct bn_var_fn {
  const sum2* partial; index_t slices; double count, eps, momentum;
  const float* save_mean; float* save_invstd; float* running_mean; float* running_var;
  CNNZOO_HD void operator()(index_t c) const {
    const double var = total_a(partial, slices, c) / count;
    save_invstd[c] = static_cast<float>(1.0 / sqrt(var + eps));
    const double unbiased = count > 1 ? var * count / (count - 1) : var;
    running_mean[c] = static_cast<float>((1.0 - momentum) * running_mean[c] + momentum * save_mean[c]);
    running_var[c] = static_cast<float>((1.0 - momentum) * running_var[c] + momentum * unbiased);
  }
};

struct bn_infer_stats_fn {
  double eps; const float* running_mean; const float* running_var; float* save_mean; float* save_invstd;
  CNNZOO_HD void operator()(index_t c) const {
    save_mean[c] = running_mean[c];
    save_invstd[c] = static_cast<float>(1.0 / sqrt(static_cast<double>(running_var[c]) + eps));
  }
};

template <class T>
struct bn_apply_fn {
  index_t hw, channels; const T* x; const float* gamma; const float* beta; const float* mean;
  const float* invstd; T* y;
  CNNZOO_HD void operator()(index_t i) const {
    const index_t c = (i / hw) % channels;
    const float scale = gamma[c] * invstd[c];
    y[i] = from_float<T>(to_float(x[i]) * scale + (beta[c] - mean[c] * scale));
  }
};

// dgamma, dbeta, and the two means the input gradient subtracts (0 in inference mode, where the
// statistics are constants). coef[c] = mean dy, coef[channels + c] = mean dy * xhat.
struct bn_backward_finalize_fn {
  const sum2* partial; index_t slices, channels; double count; bool training;
  float* dgamma; float* dbeta; float* coef;
  CNNZOO_HD void operator()(index_t c) const {
    const double sdy = total_a(partial, slices, c), sdyx = total_b(partial, slices, c);
    dgamma[c] = static_cast<float>(sdyx);
    dbeta[c] = static_cast<float>(sdy);
    coef[c] = training ? static_cast<float>(sdy / count) : 0.0f;
    coef[channels + c] = training ? static_cast<float>(sdyx / count) : 0.0f;
  }
};

template <class T>
struct bn_backward_dx_fn {
  index_t hw, channels; const T* x; const T* dy; const float* gamma; const float* mean; const float* invstd;
  const float* coef; T* dx;
  CNNZOO_HD void operator()(index_t i) const {
    const index_t c = (i / hw) % channels;
    const float xhat = (to_float(x[i]) - mean[c]) * invstd[c];
    dx[i] = from_float<T>(gamma[c] * invstd[c] * (to_float(dy[i]) - coef[c] - xhat * coef[channels + c]));
  }
};

}  // namespace cnnzoo::exec::cuda_detail
