#pragma once
#include "common.hpp"
// Elementwise arithmetic, channel blocks, dropout and the augmentation renderer: one pass over
// the values, spread over the cores for large counts.
#include <algorithm>
#include <cstdint>

#include "../../core/rng.hpp"
#include "../vocabulary.hpp"

namespace cnnzoo::exec::eigen_detail {

// y = a + b
template <class T>
void add(std::ptrdiff_t count, const T* a, const T* b, T* y) {
#pragma omp parallel for schedule(static) if (count > parallel_threshold)
  for (std::ptrdiff_t i = 0; i < count; ++i) y[i] = a[i] + b[i];
}

// y = alpha * x + beta * y   (beta = 0 overwrites y without reading it)
template <class T>
void axpby(std::ptrdiff_t count, T alpha, const T* x, T beta, T* y) {
#pragma omp parallel for schedule(static) if (count > parallel_threshold)
  for (std::ptrdiff_t i = 0; i < count; ++i) y[i] = alpha * x[i] + (beta == T(0) ? T(0) : beta * y[i]);
}

// y = x * m
template <class T>
void multiply(std::ptrdiff_t count, const T* x, const T* m, T* y) {
#pragma omp parallel for schedule(static) if (count > parallel_threshold)
  for (std::ptrdiff_t i = 0; i < count; ++i) y[i] = x[i] * m[i];
}

// dst block (+)= src block, see channel_copy.
template <class T>
void copy_channels(const channel_copy& b, const T* src, T* dst, bool accumulate) {
  const std::ptrdiff_t hw = b.hw, len = static_cast<std::ptrdiff_t>(b.count) * hw;
  for (int i = 0; i < b.n; ++i) {
    const T* s = src + (static_cast<std::ptrdiff_t>(i) * b.src_c + b.src_off) * hw;
    T* d = dst + (static_cast<std::ptrdiff_t>(i) * b.dst_c + b.dst_off) * hw;
    if (accumulate) for (std::ptrdiff_t j = 0; j < len; ++j) d[j] += s[j];
    else std::copy_n(s, len, d);
  }
}

// Inverted dropout: keep with probability 1 - rate and scale by 1 / (1 - rate). The mask (0 or
// the scale) is a function of (key, index) only, so every policy draws the same one.
template <class T>
void dropout_forward(std::ptrdiff_t count, float rate, std::uint64_t key, const T* x, T* mask, T* y) {
  const T scale = rate < 1.0f ? T(1) / (T(1) - static_cast<T>(rate)) : T(0);
#pragma omp parallel for schedule(static) if (count > parallel_threshold)
  for (std::ptrdiff_t i = 0; i < count; ++i) {
    mask[i] = hash_uniform(key, static_cast<std::uint64_t>(i)) >= rate ? scale : T(0);
    y[i] = x[i] * mask[i];
  }
}

// The augmented, normalized batch, value by value (ops/render.hpp).
template <class T>
void render_batch(const render_geometry& g, int n, const image_recipe* recipes, const std::uint8_t* pixels,
                  const float* norm, T* out) {
  const std::ptrdiff_t count = static_cast<std::ptrdiff_t>(n) * g.c * g.h * g.w;
#pragma omp parallel for schedule(static) if (count > parallel_threshold)
  for (std::ptrdiff_t i = 0; i < count; ++i)
    out[i] = static_cast<T>(render_value(recipes, pixels, norm, g, static_cast<std::uint64_t>(i)));
}

}  // namespace cnnzoo::exec::eigen_detail
