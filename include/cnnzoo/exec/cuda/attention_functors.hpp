#pragma once
#ifndef CNNZOO_CUDA_POLICY_INTERNAL
#error "cnnzoo: the headers of exec/cuda/ are internal; include <cnnzoo/exec/cuda.hpp>"
#endif
// The CUDA policy's arithmetic, one functor per op (see functors.hpp). Attention pieces: channel
// statistics, spatial scaling, softmax over channels or groups (Eigen: exec/eigen/attention.hpp).
#include <cstddef>
#include <cstdint>

#include "common_functors.hpp"

namespace cnnzoo::exec::cuda_detail {

// y[i, p] = mean or max over ch of x[i, ch, p], one thread per (image, pixel).
template <class T>
struct channel_pool_forward_fn {
  pool_kind kind; index_t c, hw; const T* x; T* y;
  CNNZOO_HD void operator()(index_t q) const {
    const T* xi = x + (q / hw) * c * hw + q % hw;
    float best = to_float(xi[0]), sum = best;
    for (index_t ch = 1; ch < c; ++ch) {
      const float v = to_float(xi[ch * hw]);
      best = v > best ? v : best;
      sum += v;
    }
    y[q] = from_float<T>(kind == pool_kind::max ? best : sum * (1.0f / static_cast<float>(c)));
  }
};

template <class T>
struct channel_pool_backward_fn {
  pool_kind kind; index_t c, hw; const T* x; const T* dy; T* dx;
  CNNZOO_HD void operator()(index_t q) const {
    const index_t base = (q / hw) * c * hw + q % hw;
    const float g = to_float(dy[q]);
    if (kind == pool_kind::avg) {
      const T share = from_float<T>(g * (1.0f / static_cast<float>(c)));
      for (index_t ch = 0; ch < c; ++ch) dx[base + ch * hw] = share;
      return;
    }
    index_t arg = 0;
    float best = to_float(x[base]);
    for (index_t ch = 1; ch < c; ++ch)
      if (to_float(x[base + ch * hw]) > best) { best = to_float(x[base + ch * hw]); arg = ch; }
    for (index_t ch = 0; ch < c; ++ch) dx[base + ch * hw] = from_float<T>(ch == arg ? g : 0.0f);
  }
};

// y[i, ch, p] = x[i, ch, p] * s[i, p]
template <class T>
struct scale_spatial_fn {
  index_t c, hw; const T* x; const T* s; T* y;
  CNNZOO_HD void operator()(index_t i) const {
    y[i] = from_float<T>(to_float(x[i]) * to_float(s[(i / (c * hw)) * hw + i % hw]));
  }
};

template <class T>
struct scale_spatial_dx_fn {
  index_t c, hw; const T* s; const T* dy; T* dx; bool accumulate;
  CNNZOO_HD void operator()(index_t i) const {
    const float v = to_float(dy[i]) * to_float(s[(i / (c * hw)) * hw + i % hw]);
    dx[i] = from_float<T>(accumulate ? to_float(dx[i]) + v : v);
  }
};

// ds[i, p] = sum over ch of dy * x, one thread per (image, pixel).
template <class T>
struct scale_spatial_ds_fn {
  index_t c, hw; const T* x; const T* dy; T* ds;
  CNNZOO_HD void operator()(index_t q) const {
    const index_t base = (q / hw) * c * hw + q % hw;
    float acc = 0.0f;
    for (index_t ch = 0; ch < c; ++ch) acc += to_float(dy[base + ch * hw]) * to_float(x[base + ch * hw]);
    ds[q] = from_float<T>(acc);
  }
};

// Softmax along the axis of (outer, axis, inner) blocks (see softmax_geometry), one thread per
// (outer, inner) line.
struct softmax_lines {
  index_t outer, axis, inner;
  static CNNZOO_HD softmax_lines of(const softmax_geometry& g) {
    const index_t n = static_cast<index_t>(g.n), groups = static_cast<index_t>(g.groups);
    const index_t c = static_cast<index_t>(g.c), hw = static_cast<index_t>(g.hw);
    if (g.over == softmax_over::channels) return {n * groups, c, hw};
    return {n, groups, c * hw};
  }
  CNNZOO_HD index_t base(index_t line) const { return (line / inner) * axis * inner + line % inner; }
};

template <class T>
struct softmax_forward_fn {
  softmax_lines b; const T* x; T* y;
  CNNZOO_HD void operator()(index_t line) const {
    const index_t at = b.base(line);
    float top = to_float(x[at]);
    for (index_t a = 1; a < b.axis; ++a) top = to_float(x[at + a * b.inner]) > top ? to_float(x[at + a * b.inner]) : top;
    float sum = 0.0f;
    for (index_t a = 0; a < b.axis; ++a) sum += expf(to_float(x[at + a * b.inner]) - top);
    const float inv = 1.0f / sum;
    for (index_t a = 0; a < b.axis; ++a)
      y[at + a * b.inner] = from_float<T>(expf(to_float(x[at + a * b.inner]) - top) * inv);
  }
};

template <class T>
struct softmax_backward_fn {
  softmax_lines b; const T* y; const T* dy; T* dx;
  CNNZOO_HD void operator()(index_t line) const {
    const index_t at = b.base(line);
    float dot = 0.0f;
    for (index_t a = 0; a < b.axis; ++a) dot += to_float(dy[at + a * b.inner]) * to_float(y[at + a * b.inner]);
    for (index_t a = 0; a < b.axis; ++a) {
      const index_t k = at + a * b.inner;
      dx[k] = from_float<T>(to_float(y[k]) * (to_float(dy[k]) - dot));
    }
  }
};

}  // namespace cnnzoo::exec::cuda_detail
