#pragma once
#include "common.hpp"
// Window pooling and global pooling, NCHW, one (image, channel) plane per task. Max pooling's
// backward recomputes the arg-max from x (the first maximum wins, as in cuDNN), so nothing but
// the input has to be kept.
#include <limits>

#include "../vocabulary.hpp"

namespace cnnzoo::exec::eigen_detail {

template <class T>
void pool_forward(pool_kind kind, const pool_geometry& g, const T* x, T* y) {
  const std::ptrdiff_t planes = static_cast<std::ptrdiff_t>(g.n) * g.c;
#pragma omp parallel for schedule(static)
  for (std::ptrdiff_t nc = 0; nc < planes; ++nc) {
    const T* xp = x + nc * g.h * g.w;
    T* yp = y + nc * g.oh * g.ow;
    for (int oy = 0; oy < g.oh; ++oy)
      for (int ox = 0; ox < g.ow; ++ox) {
        T best = -std::numeric_limits<T>::infinity(), sum = 0;
        int count = 0;
        for (int r = 0; r < g.kh; ++r) {
          const int iy = oy * g.sh - g.ph + r;
          if (iy < 0 || iy >= g.h) continue;
          for (int s = 0; s < g.kw; ++s) {
            const int ix = ox * g.sw - g.pw + s;
            if (ix < 0 || ix >= g.w) continue;
            const T v = xp[iy * g.w + ix];
            if (v > best) best = v;
            sum += v;
            ++count;
          }
        }
        yp[oy * g.ow + ox] = kind == pool_kind::max ? best : sum / static_cast<T>(count);
      }
  }
}

// dx is overwritten.
template <class T>
void pool_backward(pool_kind kind, const pool_geometry& g, const T* x, const T* dy, T* dx) {
  const std::ptrdiff_t planes = static_cast<std::ptrdiff_t>(g.n) * g.c;
#pragma omp parallel for schedule(static)
  for (std::ptrdiff_t nc = 0; nc < planes; ++nc) {
    const T* xp = x + nc * g.h * g.w;
    const T* dyp = dy + nc * g.oh * g.ow;
    T* dxp = dx + nc * g.h * g.w;
    std::fill(dxp, dxp + g.h * g.w, T(0));
    for (int oy = 0; oy < g.oh; ++oy)
      for (int ox = 0; ox < g.ow; ++ox) {
        const int y0 = oy * g.sh - g.ph, x0 = ox * g.sw - g.pw;
        const int ya = std::max(y0, 0), yb = std::min(y0 + g.kh, g.h);
        const int xa = std::max(x0, 0), xb = std::min(x0 + g.kw, g.w);
        const T d = dyp[oy * g.ow + ox];
        if (kind == pool_kind::avg) {
          const T share = d / static_cast<T>((yb - ya) * (xb - xa));
          for (int iy = ya; iy < yb; ++iy)
            for (int ix = xa; ix < xb; ++ix) dxp[iy * g.w + ix] += share;
        } else {
          int arg = ya * g.w + xa;
          for (int iy = ya; iy < yb; ++iy)
            for (int ix = xa; ix < xb; ++ix)
              if (xp[iy * g.w + ix] > xp[arg]) arg = iy * g.w + ix;
          dxp[arg] += d;
        }
      }
  }
}

template <class T>
void global_pool_forward(pool_kind kind, int n, int c, int hw, const T* x, T* y) {
  const std::ptrdiff_t planes = static_cast<std::ptrdiff_t>(n) * c;
#pragma omp parallel for schedule(static) if (planes * hw > parallel_threshold)
  for (std::ptrdiff_t nc = 0; nc < planes; ++nc) {
    const_vector_map<T> v(x + nc * hw, hw);
    y[nc] = kind == pool_kind::max ? v.maxCoeff() : v.mean();
  }
}

template <class T>
void global_pool_backward(pool_kind kind, int n, int c, int hw, const T* x, const T* dy, T* dx) {
  const std::ptrdiff_t planes = static_cast<std::ptrdiff_t>(n) * c;
#pragma omp parallel for schedule(static) if (planes * hw > parallel_threshold)
  for (std::ptrdiff_t nc = 0; nc < planes; ++nc) {
    T* d = dx + nc * hw;
    if (kind == pool_kind::avg) {
      std::fill(d, d + hw, dy[nc] / static_cast<T>(hw));
    } else {
      std::fill(d, d + hw, T(0));
      Eigen::Index arg = 0;
      const_vector_map<T>(x + nc * hw, hw).maxCoeff(&arg);
      d[arg] = dy[nc];
    }
  }
}

}  // namespace cnnzoo::exec::eigen_detail
