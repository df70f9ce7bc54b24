#pragma once
#include "common.hpp"
// Attention pieces, NCHW: statistics over the channels of each pixel (CBAM's spatial
// attention), the broadcast multiply by a per-pixel scale, and softmax over channels or over
// channel groups (SKNet). All memory-bound: plain loops whose innermost index runs along a
// contiguous plane, one image (or one softmax row block) per task.
#include <algorithm>
#include <cmath>
#include <limits>

#include "../vocabulary.hpp"

namespace cnnzoo::exec::eigen_detail {

// y[i, p] = mean or max over ch of x[i, ch, p]
template <class T>
void channel_pool_forward(pool_kind kind, int n, int c, int hw, const T* x, T* y) {
  const std::ptrdiff_t len = hw;
#pragma omp parallel for schedule(static) if (static_cast<std::ptrdiff_t>(n) * c * len > parallel_threshold)
  for (int i = 0; i < n; ++i) {
    const T* xi = x + static_cast<std::ptrdiff_t>(i) * c * len;
    T* yi = y + static_cast<std::ptrdiff_t>(i) * len;
    std::copy_n(xi, len, yi);
    for (int ch = 1; ch < c; ++ch) {
      const T* plane = xi + ch * len;
      if (kind == pool_kind::max)
        for (std::ptrdiff_t p = 0; p < len; ++p) yi[p] = plane[p] > yi[p] ? plane[p] : yi[p];
      else
        for (std::ptrdiff_t p = 0; p < len; ++p) yi[p] += plane[p];
    }
    if (kind == pool_kind::avg) {
      const T inv = T(1) / static_cast<T>(c);
      for (std::ptrdiff_t p = 0; p < len; ++p) yi[p] *= inv;
    }
  }
}

// dx overwritten. The mean spreads dy / c over the channels; the max sends dy to the first
// channel holding the maximum (recomputed from x, the rule global max pooling uses).
template <class T>
void channel_pool_backward(pool_kind kind, int n, int c, int hw, const T* x, const T* dy, T* dx) {
  const std::ptrdiff_t len = hw;
#pragma omp parallel for schedule(static) if (static_cast<std::ptrdiff_t>(n) * c * len > parallel_threshold)
  for (int i = 0; i < n; ++i) {
    const T* xi = x + static_cast<std::ptrdiff_t>(i) * c * len;
    const T* g = dy + static_cast<std::ptrdiff_t>(i) * len;
    T* di = dx + static_cast<std::ptrdiff_t>(i) * c * len;
    if (kind == pool_kind::avg) {
      const T inv = T(1) / static_cast<T>(c);
      for (int ch = 0; ch < c; ++ch)
        for (std::ptrdiff_t p = 0; p < len; ++p) di[ch * len + p] = g[p] * inv;
      continue;
    }
    std::fill(di, di + c * len, T(0));
    for (std::ptrdiff_t p = 0; p < len; ++p) {
      int arg = 0;
      T best = xi[p];
      for (int ch = 1; ch < c; ++ch)
        if (xi[ch * len + p] > best) { best = xi[ch * len + p]; arg = ch; }
      di[arg * len + p] = g[p];
    }
  }
}

// y[i, ch, p] = x[i, ch, p] * s[i, p]
template <class T>
void scale_spatial_forward(int n, int c, int hw, const T* x, const T* s, T* y) {
  const std::ptrdiff_t planes = static_cast<std::ptrdiff_t>(n) * c, len = hw;
#pragma omp parallel for schedule(static) if (planes * len > parallel_threshold)
  for (std::ptrdiff_t q = 0; q < planes; ++q) {
    const T* si = s + (q / c) * len;
    const T* xp = x + q * len;
    T* yp = y + q * len;
    for (std::ptrdiff_t p = 0; p < len; ++p) yp[p] = xp[p] * si[p];
  }
}

// ds[i, p] = sum over ch of dy[i, ch, p] * x[i, ch, p]   (overwritten; skipped when ds is null)
// dx[i, ch, p] (+)= dy[i, ch, p] * s[i, p]              (skipped when dx is null)
template <class T>
void scale_spatial_backward(int n, int c, int hw, const T* x, const T* s, const T* dy, T* dx, T* ds,
                            bool accumulate) {
  const std::ptrdiff_t len = hw;
#pragma omp parallel for schedule(static) if (static_cast<std::ptrdiff_t>(n) * c * len > parallel_threshold)
  for (int i = 0; i < n; ++i) {
    const std::ptrdiff_t base = static_cast<std::ptrdiff_t>(i) * c * len;
    const T* g = dy + base;
    if (ds) {
      const T* xi = x + base;
      T* dsi = ds + static_cast<std::ptrdiff_t>(i) * len;
      std::fill(dsi, dsi + len, T(0));
      for (int ch = 0; ch < c; ++ch)
        for (std::ptrdiff_t p = 0; p < len; ++p) dsi[p] += g[ch * len + p] * xi[ch * len + p];
    }
    if (dx) {
      const T* si = s + static_cast<std::ptrdiff_t>(i) * len;
      T* di = dx + base;
      for (int ch = 0; ch < c; ++ch)
        if (accumulate) for (std::ptrdiff_t p = 0; p < len; ++p) di[ch * len + p] += g[ch * len + p] * si[p];
        else for (std::ptrdiff_t p = 0; p < len; ++p) di[ch * len + p] = g[ch * len + p] * si[p];
    }
  }
}

// The softmax geometry as (outer, axis, inner) blocks of a contiguous NCHW tensor: element
// (o, a, k) sits at (o * axis + a) * inner + k and the softmax runs over a.
struct softmax_blocks {
  std::ptrdiff_t outer, axis, inner;
};
inline softmax_blocks blocks_of(const softmax_geometry& g) noexcept {
  const std::ptrdiff_t n = g.n, groups = g.groups, c = g.c, hw = g.hw;
  if (g.over == softmax_over::channels) return {n * groups, c, hw};
  return {n, groups, c * hw};
}

// y = exp(x - max) / sum exp(x - max) along the axis.
template <class T>
void softmax_forward(const softmax_geometry& geo, const T* x, T* y) {
  const softmax_blocks b = blocks_of(geo);
#pragma omp parallel for schedule(static) if (b.outer * b.axis * b.inner > parallel_threshold)
  for (std::ptrdiff_t o = 0; o < b.outer; ++o) {
    const T* xo = x + o * b.axis * b.inner;
    T* yo = y + o * b.axis * b.inner;
    for (std::ptrdiff_t k = 0; k < b.inner; ++k) {
      T top = -std::numeric_limits<T>::infinity();
      for (std::ptrdiff_t a = 0; a < b.axis; ++a) top = std::max(top, xo[a * b.inner + k]);
      T sum = 0;
      for (std::ptrdiff_t a = 0; a < b.axis; ++a) {
        const T e = std::exp(xo[a * b.inner + k] - top);
        yo[a * b.inner + k] = e;
        sum += e;
      }
      const T inv = T(1) / sum;
      for (std::ptrdiff_t a = 0; a < b.axis; ++a) yo[a * b.inner + k] *= inv;
    }
  }
}

// dx = y * (dy - sum_a dy * y), from the forward output y; dx overwritten.
template <class T>
void softmax_backward(const softmax_geometry& geo, const T* y, const T* dy, T* dx) {
  const softmax_blocks b = blocks_of(geo);
#pragma omp parallel for schedule(static) if (b.outer * b.axis * b.inner > parallel_threshold)
  for (std::ptrdiff_t o = 0; o < b.outer; ++o) {
    const std::ptrdiff_t base = o * b.axis * b.inner;
    for (std::ptrdiff_t k = 0; k < b.inner; ++k) {
      T dot = 0;
      for (std::ptrdiff_t a = 0; a < b.axis; ++a) dot += dy[base + a * b.inner + k] * y[base + a * b.inner + k];
      for (std::ptrdiff_t a = 0; a < b.axis; ++a) {
        const std::ptrdiff_t at = base + a * b.inner + k;
        dx[at] = y[at] * (dy[at] - dot);
      }
    }
  }
}

}  // namespace cnnzoo::exec::eigen_detail
