#pragma once
#include "detail_common.hpp"
// Convolution as im2col + GEMM, one image per OpenMP task (each GEMM then runs on one core,
// which Eigen arranges itself inside a parallel region). A 1x1, stride-1, unpadded convolution
// is a GEMM on the input as it is; a depthwise one (one input and one output channel per group)
// is a direct loop, since a GEMM of one row would waste the call.
#include <algorithm>
#include <cstring>

#include "../geometry.hpp"

namespace cnnzoo::exec::eigen_detail {

inline bool is_pointwise(const conv_geometry& g) {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0;
}
inline bool is_depthwise(const conv_geometry& g) { return g.groups == g.c && g.groups == g.k; }

// col[(ci*kh + r)*kw + s][oy*ow + ox] = x[ci][oy*sh - ph + r*dh][ox*sw - pw + s*dw] (0 outside)
template <class T>
void im2col(const conv_geometry& g, int channels, const T* x, T* col) {
  const int p = g.oh * g.ow;
  for (int ci = 0; ci < channels; ++ci)
    for (int r = 0; r < g.kh; ++r)
      for (int s = 0; s < g.kw; ++s) {
        T* out = col + static_cast<std::ptrdiff_t>((ci * g.kh + r) * g.kw + s) * p;
        const T* plane = x + static_cast<std::ptrdiff_t>(ci) * g.h * g.w;
        for (int oy = 0; oy < g.oh; ++oy) {
          const int iy = oy * g.sh - g.ph + r * g.dh;
          T* row = out + oy * g.ow;
          if (iy < 0 || iy >= g.h) { std::fill(row, row + g.ow, T(0)); continue; }
          for (int ox = 0; ox < g.ow; ++ox) {
            const int ix = ox * g.sw - g.pw + s * g.dw;
            row[ox] = (ix >= 0 && ix < g.w) ? plane[iy * g.w + ix] : T(0);
          }
        }
      }
}

// The adjoint of im2col: dx += scatter(dcol).
template <class T>
void col2im_add(const conv_geometry& g, int channels, const T* col, T* dx) {
  const int p = g.oh * g.ow;
  for (int ci = 0; ci < channels; ++ci)
    for (int r = 0; r < g.kh; ++r)
      for (int s = 0; s < g.kw; ++s) {
        const T* in = col + static_cast<std::ptrdiff_t>((ci * g.kh + r) * g.kw + s) * p;
        T* plane = dx + static_cast<std::ptrdiff_t>(ci) * g.h * g.w;
        for (int oy = 0; oy < g.oh; ++oy) {
          const int iy = oy * g.sh - g.ph + r * g.dh;
          if (iy < 0 || iy >= g.h) continue;
          for (int ox = 0; ox < g.ow; ++ox) {
            const int ix = ox * g.sw - g.pw + s * g.dw;
            if (ix >= 0 && ix < g.w) plane[iy * g.w + ix] += in[oy * g.ow + ox];
          }
        }
      }
}

template <class T>
void depthwise_forward(const conv_geometry& g, const T* x, const T* w, const T* b, T* y) {
  const std::ptrdiff_t planes = static_cast<std::ptrdiff_t>(g.n) * g.c;
#pragma omp parallel for schedule(static)
  for (std::ptrdiff_t nc = 0; nc < planes; ++nc) {
    const int c = static_cast<int>(nc % g.c);
    const T* xp = x + nc * g.h * g.w;
    const T* wc = w + static_cast<std::ptrdiff_t>(c) * g.kh * g.kw;
    T* yp = y + nc * g.oh * g.ow;
    const T bias = b ? b[c] : T(0);
    for (int oy = 0; oy < g.oh; ++oy)
      for (int ox = 0; ox < g.ow; ++ox) {
        T acc = bias;
        for (int r = 0; r < g.kh; ++r) {
          const int iy = oy * g.sh - g.ph + r * g.dh;
          if (iy < 0 || iy >= g.h) continue;
          for (int s = 0; s < g.kw; ++s) {
            const int ix = ox * g.sw - g.pw + s * g.dw;
            if (ix >= 0 && ix < g.w) acc += wc[r * g.kw + s] * xp[iy * g.w + ix];
          }
        }
        yp[oy * g.ow + ox] = acc;
      }
  }
}

template <class T>
void depthwise_backward(const conv_geometry& g, const T* x, const T* w, const T* dy, T* dx, T* dw, T* db) {
  const int taps = g.kh * g.kw;
  // Parallel over channels: each owns its filter gradient, so no reduction is needed.
#pragma omp parallel for schedule(static)
  for (int c = 0; c < g.c; ++c) {
    const T* wc = w + static_cast<std::ptrdiff_t>(c) * taps;
    T* dwc = dw + static_cast<std::ptrdiff_t>(c) * taps;
    std::fill(dwc, dwc + taps, T(0));
    T dbias = 0;
    for (int i = 0; i < g.n; ++i) {
      const std::ptrdiff_t nc = static_cast<std::ptrdiff_t>(i) * g.c + c;
      const T* xp = x + nc * g.h * g.w;
      const T* dyp = dy + nc * g.oh * g.ow;
      T* dxp = dx ? dx + nc * g.h * g.w : nullptr;
      if (dxp) std::fill(dxp, dxp + g.h * g.w, T(0));
      for (int oy = 0; oy < g.oh; ++oy)
        for (int ox = 0; ox < g.ow; ++ox) {
          const T d = dyp[oy * g.ow + ox];
          dbias += d;
          for (int r = 0; r < g.kh; ++r) {
            const int iy = oy * g.sh - g.ph + r * g.dh;
            if (iy < 0 || iy >= g.h) continue;
            for (int s = 0; s < g.kw; ++s) {
              const int ix = ox * g.sw - g.pw + s * g.dw;
              if (ix < 0 || ix >= g.w) continue;
              dwc[r * g.kw + s] += d * xp[iy * g.w + ix];
              if (dxp) dxp[iy * g.w + ix] += d * wc[r * g.kw + s];
            }
          }
        }
    }
    if (db) db[c] = dbias;
  }
}

template <class T>
void conv2d_forward(const conv_geometry& g, const T* x, const T* w, const T* b, T* y) {
  if (is_depthwise(g)) return depthwise_forward(g, x, w, b, y);
  const int cg = g.c / g.groups, kg = g.k / g.groups;
  const int kdim = cg * g.kh * g.kw, p = g.oh * g.ow;
  const bool pointwise = is_pointwise(g);
#pragma omp parallel for schedule(static)
  for (int i = 0; i < g.n; ++i) {
    thread_local std::vector<T> col_buf;
    T* col = pointwise ? nullptr : scratch(col_buf, static_cast<std::size_t>(kdim) * p);
    for (int gi = 0; gi < g.groups; ++gi) {
      const T* xi = x + (static_cast<std::ptrdiff_t>(i) * g.c + gi * cg) * g.h * g.w;
      if (!pointwise) im2col(g, cg, xi, col);
      const_matrix_map<T> wm(w + static_cast<std::ptrdiff_t>(gi) * kg * kdim, kg, kdim);
      const_matrix_map<T> cm(pointwise ? xi : col, kdim, p);
      matrix_map<T> ym(y + (static_cast<std::ptrdiff_t>(i) * g.k + gi * kg) * p, kg, p);
      ym.noalias() = wm * cm;
      if (b) ym.colwise() += const_vector_map<T>(b + gi * kg, kg);
    }
  }
}

// dx (if non-null) and dw, db (if non-null) are overwritten.
template <class T>
void conv2d_backward(const conv_geometry& g, const T* x, const T* w, const T* dy, T* dx, T* dw, T* db) {
  if (is_depthwise(g)) return depthwise_backward(g, x, w, dy, dx, dw, db);
  const int cg = g.c / g.groups, kg = g.k / g.groups;
  const int kdim = cg * g.kh * g.kw, p = g.oh * g.ow;
  const std::size_t wsize = static_cast<std::size_t>(g.k) * kdim;
  const bool pointwise = is_pointwise(g);
  std::fill(dw, dw + wsize, T(0));
  if (db) {
    std::fill(db, db + g.k, T(0));
    for (int i = 0; i < g.n; ++i)
      for (int k = 0; k < g.k; ++k)
        db[k] += const_vector_map<T>(dy + (static_cast<std::ptrdiff_t>(i) * g.k + k) * p, p).sum();
  }
  // Each thread sums its images' filter gradients into its own buffer; the buffers are then
  // added in thread order, so the result does not depend on timing (runs are reproducible).
  const int threads = max_threads();
  thread_local std::vector<T> partial_buf;
  T* partial = scratch(partial_buf, wsize * static_cast<std::size_t>(threads));
  std::fill(partial, partial + wsize * static_cast<std::size_t>(threads), T(0));
#pragma omp parallel num_threads(threads)
  {
    thread_local std::vector<T> col_buf, dcol_buf;
    T* col = pointwise ? nullptr : scratch(col_buf, static_cast<std::size_t>(kdim) * p);
    T* dcol = scratch(dcol_buf, static_cast<std::size_t>(kdim) * p);
    T* dw_local = partial + wsize * static_cast<std::size_t>(thread_index());
#pragma omp for schedule(static)
    for (int i = 0; i < g.n; ++i) {
      for (int gi = 0; gi < g.groups; ++gi) {
        const T* xi = x + (static_cast<std::ptrdiff_t>(i) * g.c + gi * cg) * g.h * g.w;
        if (!pointwise) im2col(g, cg, xi, col);
        const_matrix_map<T> cm(pointwise ? xi : col, kdim, p);
        const_matrix_map<T> dym(dy + (static_cast<std::ptrdiff_t>(i) * g.k + gi * kg) * p, kg, p);
        matrix_map<T>(dw_local + static_cast<std::ptrdiff_t>(gi) * kg * kdim, kg, kdim).noalias() +=
            dym * cm.transpose();
        if (!dx) continue;
        const_matrix_map<T> wm(w + static_cast<std::ptrdiff_t>(gi) * kg * kdim, kg, kdim);
        T* dxi = dx + (static_cast<std::ptrdiff_t>(i) * g.c + gi * cg) * g.h * g.w;
        if (pointwise) {
          matrix_map<T>(dxi, kdim, p).noalias() = wm.transpose() * dym;
        } else {
          matrix_map<T>(dcol, kdim, p).noalias() = wm.transpose() * dym;
          std::fill(dxi, dxi + static_cast<std::ptrdiff_t>(cg) * g.h * g.w, T(0));
          col2im_add(g, cg, dcol, dxi);
        }
      }
    }
  }
  vector_map<T> dwv(dw, static_cast<std::ptrdiff_t>(wsize));
  for (int t = 0; t < threads; ++t)
    dwv += const_vector_map<T>(partial + wsize * static_cast<std::size_t>(t), static_cast<std::ptrdiff_t>(wsize));
}

}  // namespace cnnzoo::exec::eigen_detail
