#pragma once
#ifndef CNNZOO_CUDA_POLICY_INTERNAL
#error "cnnzoo: the headers of exec/cuda/ are internal; include <cnnzoo/exec/cuda.hpp>"
#endif
// The CUDA policy's arithmetic, one functor per op (see functors.hpp). Channel permutations,
// broadcast scaling, Bernoulli masks (Eigen: exec/eigen/channels.hpp).
#include <cstddef>
#include <cstdint>

#include "common_functors.hpp"

namespace cnnzoo::exec::cuda_detail {

// y[i, j * groups + g] = x[i, g * (c / groups) + j], one thread per input value.
template <class T>
struct shuffle_channels_fn {
  index_t c, hw, groups; const T* x; T* y;
  CNNZOO_HD void operator()(index_t i) const {
    const index_t plane = i / hw, img = plane / c, src = plane % c, per = c / groups;
    const index_t dst = (src % per) * groups + src / per;
    y[(img * c + dst) * hw + i % hw] = x[i];
  }
};

// y[i, ch, :] = x[i, ch, :] * s[i, ch]
template <class T>
struct scale_channels_fn {
  index_t hw; const T* x; const T* s; T* y;
  CNNZOO_HD void operator()(index_t i) const { y[i] = from_float<T>(to_float(x[i]) * to_float(s[i / hw])); }
};

// dx[i, ch, :] (+)= dy[i, ch, :] * s[i, ch]
template <class T>
struct scale_channels_dx_fn {
  index_t hw; const T* s; const T* dy; T* dx; bool accumulate;
  CNNZOO_HD void operator()(index_t i) const {
    const float v = to_float(dy[i]) * to_float(s[i / hw]);
    dx[i] = from_float<T>(accumulate ? to_float(dx[i]) + v : v);
  }
};

// ds[i, ch] = sum over the plane of dy * x, one thread per plane.
template <class T>
struct scale_channels_ds_fn {
  index_t hw; const T* x; const T* dy; T* ds;
  CNNZOO_HD void operator()(index_t plane) const {
    float acc = 0.0f;
    for (index_t k = plane * hw; k < (plane + 1) * hw; ++k) acc += to_float(dy[k]) * to_float(x[k]);
    ds[plane] = from_float<T>(acc);
  }
};

// mask[i] = hash_uniform(key, i) >= drop ? scale : 0 (stochastic depth's per-sample coin).
template <class T>
struct bernoulli_mask_fn {
  float drop, scale; std::uint64_t key; T* mask;
  const std::uint64_t* seed_xor = nullptr;   // device steps: the step's seed, in policy memory
  CNNZOO_HD void operator()(index_t i) const {
    const std::uint64_t k = seed_xor ? key ^ *seed_xor : key;
    mask[i] = from_float<T>(hash_uniform(k, static_cast<std::uint64_t>(i)) >= drop ? scale : 0.0f);
  }
};

}  // namespace cnnzoo::exec::cuda_detail
