#pragma once
#ifndef CNNZOO_CUDA_POLICY_INTERNAL
#error "cnnzoo: the headers of exec/cuda/ are internal; include <cnnzoo/exec/cuda.hpp>"
#endif
// The CUDA policy's arithmetic, one functor per op (see functors.hpp). Elementwise arithmetic,
// channel blocks, dropout and the augmentation renderer (Eigen: exec/eigen/elementwise.hpp).
#include <cstddef>
#include <cstdint>

#include "common_functors.hpp"

namespace cnnzoo::exec::cuda_detail {

template <class T>
struct fill_fn {
  T value; T* y;
  CNNZOO_HD void operator()(index_t i) const { y[i] = value; }
};

template <class T>
struct add_fn {
  const T* a; const T* b; T* y;
  CNNZOO_HD void operator()(index_t i) const { y[i] = from_float<T>(to_float(a[i]) + to_float(b[i])); }
};

// y = alpha x + beta y; beta = 0 overwrites y without reading it (it may hold garbage or NaN).
template <class T>
struct axpby_fn {
  float alpha, beta; const T* x; T* y;
  CNNZOO_HD void operator()(index_t i) const {
    const float keep = beta == 0.0f ? 0.0f : beta * to_float(y[i]);
    y[i] = from_float<T>(alpha * to_float(x[i]) + keep);
  }
};

template <class T>
struct multiply_fn {
  const T* x; const T* m; T* y;
  CNNZOO_HD void operator()(index_t i) const { y[i] = from_float<T>(to_float(x[i]) * to_float(m[i])); }
};

// Inverted dropout with the mask every policy draws: a function of (key, index) only.
template <class T>
struct dropout_fn {
  float rate, scale; std::uint64_t key; const T* x; T* mask; T* y;
  const std::uint64_t* seed_xor = nullptr;   // device steps: the step's seed, in policy memory
  CNNZOO_HD void operator()(index_t i) const {
    const std::uint64_t k = seed_xor ? key ^ *seed_xor : key;
    const float m = hash_uniform(k, static_cast<std::uint64_t>(i)) >= rate ? scale : 0.0f;
    mask[i] = from_float<T>(m);
    y[i] = from_float<T>(to_float(x[i]) * to_float(from_float<T>(m)));
  }
};

// Value i of the augmented batch (ops/render.hpp), converted to the compute type.
template <class T>
struct render_fn {
  ops::render_geometry g; const ops::image_recipe* recipes; const std::uint8_t* pixels; const float* norm; T* out;
  CNNZOO_HD void operator()(index_t i) const {
    out[i] = from_float<T>(ops::render_value(recipes, pixels, norm, g, static_cast<std::uint64_t>(i)));
  }
};

// dst block += src block (copy_channels with accumulate), one thread per value of the block.
template <class T>
struct channel_add_fn {
  channel_copy b; const T* src; T* dst;
  CNNZOO_HD void operator()(index_t i) const {
    const index_t hw = static_cast<index_t>(b.hw), len = static_cast<index_t>(b.count) * hw;
    const index_t img = i / len, r = i % len;
    T& d = dst[(img * static_cast<index_t>(b.dst_c) + static_cast<index_t>(b.dst_off)) * hw + r];
    d = from_float<T>(to_float(d) +
                      to_float(src[(img * static_cast<index_t>(b.src_c) + static_cast<index_t>(b.src_off)) * hw + r]));
  }
};

}  // namespace cnnzoo::exec::cuda_detail
