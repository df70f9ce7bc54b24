#pragma once
#ifndef CNNZOO_CUDA_POLICY_INTERNAL
#error "cnnzoo: the headers of exec/cuda/ are internal; include <cnnzoo/exec/cuda.hpp>"
#endif
// The CUDA policy's arithmetic, one functor per op (see functors.hpp). Window and global pooling
// (Eigen: exec/eigen/pool.hpp).
#include <cstddef>
#include <cstdint>

#include "common_functors.hpp"

namespace cnnzoo::exec::cuda_detail {

// One output value: the max (first maximum) or the mean over the in-image part of the window.
template <class T>
struct pool_forward_fn {
  pool_kind kind; pool_geometry g; const T* x; T* y;
  CNNZOO_HD void operator()(index_t i) const {
    const index_t ohw = static_cast<index_t>(g.oh) * g.ow;
    const index_t plane = i / ohw;
    const int oy = static_cast<int>((i % ohw) / g.ow), ox = static_cast<int>(i % g.ow);
    const T* xp = x + plane * g.h * g.w;
    float best = 0.0f, sum = 0.0f;
    int count = 0;
    for (int r = 0; r < g.kh; ++r) {
      const int iy = oy * g.sh - g.ph + r;
      if (iy < 0 || iy >= g.h) continue;
      for (int s = 0; s < g.kw; ++s) {
        const int ix = ox * g.sw - g.pw + s;
        if (ix < 0 || ix >= g.w) continue;
        const float v = to_float(xp[iy * g.w + ix]);
        if (count == 0 || v > best) best = v;
        sum += v;
        ++count;
      }
    }
    y[i] = from_float<T>(kind == pool_kind::max ? best : sum / static_cast<float>(count));
  }
};

// One input value's gradient, gathered from every window that covers it (no atomics, and the
// windows are visited in the order the Eigen policy scatters them, so fp32 sums agree exactly).
template <class T>
struct pool_backward_fn {
  pool_kind kind; pool_geometry g; const T* x; const T* dy; T* dx;
  CNNZOO_HD void operator()(index_t i) const {
    const index_t hw = static_cast<index_t>(g.h) * g.w;
    const index_t plane = i / hw;
    const int iy = static_cast<int>((i % hw) / g.w), ix = static_cast<int>(i % g.w);
    const T* xp = x + plane * hw;
    const T* dyp = dy + plane * g.oh * g.ow;
    // Windows [o*s - p, o*s - p + k) that contain i: o in [ceil((i + p - k + 1) / s), floor((i + p) / s)].
    const int oy0 = first_window(iy + g.ph - g.kh + 1, g.sh), oy1 = min_int((iy + g.ph) / g.sh, g.oh - 1);
    const int ox0 = first_window(ix + g.pw - g.kw + 1, g.sw), ox1 = min_int((ix + g.pw) / g.sw, g.ow - 1);
    float acc = 0.0f;
    for (int oy = oy0; oy <= oy1; ++oy)
      for (int ox = ox0; ox <= ox1; ++ox) {
        const int y0 = oy * g.sh - g.ph, x0 = ox * g.sw - g.pw;
        const int ya = max_int(y0, 0), yb = min_int(y0 + g.kh, g.h);
        const int xa = max_int(x0, 0), xb = min_int(x0 + g.kw, g.w);
        const float d = to_float(dyp[oy * g.ow + ox]);
        if (kind == pool_kind::avg) {
          acc += d / static_cast<float>((yb - ya) * (xb - xa));
        } else {
          int arg = ya * g.w + xa;
          for (int yy = ya; yy < yb; ++yy)
            for (int xx = xa; xx < xb; ++xx)
              if (to_float(xp[yy * g.w + xx]) > to_float(xp[arg])) arg = yy * g.w + xx;
          if (arg == iy * g.w + ix) acc += d;
        }
      }
    dx[i] = from_float<T>(acc);
  }
  static CNNZOO_HD int min_int(int a, int b) { return a < b ? a : b; }
  static CNNZOO_HD int max_int(int a, int b) { return a > b ? a : b; }
  // ceil(a / s) for any sign of a, clamped at 0.
  static CNNZOO_HD int first_window(int a, int s) { return a <= 0 ? 0 : (a + s - 1) / s; }
};

// One (image, channel) plane per call.
template <class T>
struct global_pool_forward_fn {
  pool_kind kind; index_t hw; const T* x; T* y;
  CNNZOO_HD void operator()(index_t plane) const {
    const T* p = x + plane * hw;
    float best = to_float(p[0]), sum = 0.0f;
    for (index_t j = 0; j < hw; ++j) {
      const float v = to_float(p[j]);
      if (v > best) best = v;
      sum += v;
    }
    y[plane] = from_float<T>(kind == pool_kind::max ? best : sum / static_cast<float>(hw));
  }
};

template <class T>
struct global_pool_backward_fn {
  pool_kind kind; index_t hw; const T* x; const T* dy; T* dx;
  CNNZOO_HD void operator()(index_t plane) const {
    T* d = dx + plane * hw;
    const float g = to_float(dy[plane]);
    if (kind == pool_kind::avg) {
      const T share = from_float<T>(g / static_cast<float>(hw));
      for (index_t j = 0; j < hw; ++j) d[j] = share;
      return;
    }
    const T* p = x + plane * hw;
    index_t arg = 0;
    for (index_t j = 1; j < hw; ++j)
      if (to_float(p[j]) > to_float(p[arg])) arg = j;
    for (index_t j = 0; j < hw; ++j) d[j] = from_float<T>(j == arg ? g : 0.0f);
  }
};

}  // namespace cnnzoo::exec::cuda_detail
