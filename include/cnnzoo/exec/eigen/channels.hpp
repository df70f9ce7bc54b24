#pragma once
#include "common.hpp"
// Channel permutations, broadcast channel scaling and per-sample Bernoulli masks, NCHW.
// These are memory-bound loops: one (image, channel) plane per task, no Eigen expressions.
#include <cstdint>

#include "../../core/rng.hpp"

namespace cnnzoo::exec::eigen_detail {

// y[i, j * groups + g] = x[i, g * (c / groups) + j]: view the channels as a (groups, c / groups)
// matrix and transpose it, one pixel at a time. The inverse permutation is the same operation
// with c / groups groups, which is how the backward pass undoes it.
template <class T>
void shuffle_channels(int n, int c, int hw, int groups, const T* x, T* y) {
  const std::ptrdiff_t planes = static_cast<std::ptrdiff_t>(n) * c, len = hw;
  const int per = c / groups;
#pragma omp parallel for schedule(static) if (planes * len > parallel_threshold)
  for (std::ptrdiff_t p = 0; p < planes; ++p) {
    const std::ptrdiff_t i = p / c;
    const int src = static_cast<int>(p % c);          // = g * per + j
    const int dst = (src % per) * groups + src / per;  // = j * groups + g
    const T* s = x + p * len;
    T* d = y + (i * c + dst) * len;
    for (std::ptrdiff_t k = 0; k < len; ++k) d[k] = s[k];
  }
}

// y[i, ch, :] = x[i, ch, :] * s[i, ch]
template <class T>
void scale_channels_forward(int n, int c, int hw, const T* x, const T* s, T* y) {
  const std::ptrdiff_t planes = static_cast<std::ptrdiff_t>(n) * c, len = hw;
#pragma omp parallel for schedule(static) if (planes * len > parallel_threshold)
  for (std::ptrdiff_t p = 0; p < planes; ++p) {
    const T a = s[p];
    const T* xp = x + p * len;
    T* yp = y + p * len;
    for (std::ptrdiff_t k = 0; k < len; ++k) yp[k] = xp[k] * a;
  }
}

// ds[i, ch] = sum_k dy[i, ch, k] * x[i, ch, k]   (overwritten; skipped when ds is null)
// dx[i, ch, :] (+)= dy[i, ch, :] * s[i, ch]        (skipped when dx is null)
template <class T>
void scale_channels_backward(int n, int c, int hw, const T* x, const T* s, const T* dy, T* dx, T* ds,
                             bool accumulate) {
  const std::ptrdiff_t planes = static_cast<std::ptrdiff_t>(n) * c, len = hw;
#pragma omp parallel for schedule(static) if (planes * len > parallel_threshold)
  for (std::ptrdiff_t p = 0; p < planes; ++p) {
    const T* g = dy + p * len;
    if (ds) {
      const T* xp = x + p * len;
      T acc = 0;
      for (std::ptrdiff_t k = 0; k < len; ++k) acc += g[k] * xp[k];
      ds[p] = acc;
    }
    if (dx) {
      const T a = s[p];
      T* d = dx + p * len;
      if (accumulate) for (std::ptrdiff_t k = 0; k < len; ++k) d[k] += g[k] * a;
      else for (std::ptrdiff_t k = 0; k < len; ++k) d[k] = g[k] * a;
    }
  }
}

// mask[i] = hash_uniform(key, i) >= drop ? scale : 0, scale = rescale ? 1 / (1 - drop) : 1,
// computed in T from the float drop as dropout does. Kept with probability 1 - drop; written once
// so that every policy draws the same mask from the same key.
template <class T>
void bernoulli_mask(std::ptrdiff_t count, float drop, bool rescale, std::uint64_t key, T* mask) {
  const T scale = rescale && drop < 1.0f ? T(1) / (T(1) - static_cast<T>(drop)) : T(1);
#pragma omp parallel for schedule(static) if (count > parallel_threshold)
  for (std::ptrdiff_t i = 0; i < count; ++i)
    mask[i] = hash_uniform(key, static_cast<std::uint64_t>(i)) >= drop ? scale : T(0);
}

}  // namespace cnnzoo::exec::eigen_detail
