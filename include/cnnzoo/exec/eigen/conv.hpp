#pragma once
#include "common.hpp"
// Convolution as im2col + GEMM over a chunk of images at once. The batch is cut into one
// contiguous range of images per OpenMP thread; each thread lowers several of its images side by
// side (col is K x (images * P)) and multiplies once, so the filter matrix is packed once per chunk
// rather than once per image: on 4x4 and 8x8 maps a per-image GEMM has only 16 or 64 columns
// and spends most of its time packing the weights. The GEMMs inside a thread run on that thread
// (Eigen does not nest parallelism). A batch smaller than the thread count is done as one range
// on the calling thread instead, where Eigen's own parallel GEMM spreads each product.
//
// Work is split by a fixed rule (thread count, batch, geometry), never by timing, and the
// filter gradient's per-thread partial sums are added in thread order, so a run repeats
// bit for bit at a fixed thread count.
//
// A 1x1, stride-1, unpadded convolution lowers to a copy (or to nothing when a chunk is one
// image); a depthwise one (one input and one output channel per group) is a direct loop, since
// a GEMM of one row would waste the call.
#include <algorithm>
#include <cstring>

#include "../vocabulary.hpp"
#include "gemm.hpp"

namespace cnnzoo::exec::eigen_detail {

inline bool is_pointwise(const conv_geometry& g) {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0;
}
inline bool is_depthwise(const conv_geometry& g) { return g.groups == g.c && g.groups == g.k; }

// The output columns [lo, hi) whose input column ox * stride - pad + tap lies inside [0, size).
struct valid_span {
  int lo, hi;
};
inline valid_span valid_columns(int out, int size, int stride, int offset) {
  // ix = ox * stride + offset must satisfy 0 <= ix < size.
  int lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  int hi = size - offset <= 0 ? 0 : (size - offset + stride - 1) / stride;
  lo = std::min(lo, out);
  hi = std::clamp(hi, lo, out);
  return {lo, hi};
}

// col[(ci*kh + r)*kw + s][oy*ow + ox] = x[ci][oy*sh - ph + r*dh][ox*sw - pw + s*dw] (0 outside),
// rows `ld` apart, so that several images' blocks can sit side by side in one matrix. Each row
// is written once: the in-image run is copied, only the padding is zeroed.
template <class T>
void im2col(const conv_geometry& g, int channels, const T* x, T* col, std::ptrdiff_t ld) {
  for (int r = 0; r < g.kh; ++r)
    for (int s = 0; s < g.kw; ++s) {
      const valid_span v = valid_columns(g.ow, g.w, g.sw, s * g.dw - g.pw);
      for (int ci = 0; ci < channels; ++ci) {
        T* out = col + static_cast<std::ptrdiff_t>((ci * g.kh + r) * g.kw + s) * ld;
        const T* plane = x + static_cast<std::ptrdiff_t>(ci) * g.h * g.w;
        for (int oy = 0; oy < g.oh; ++oy) {
          const int iy = oy * g.sh - g.ph + r * g.dh;
          T* row = out + oy * g.ow;
          if (iy < 0 || iy >= g.h) { std::fill(row, row + g.ow, T(0)); continue; }
          std::fill(row, row + v.lo, T(0));
          if (v.hi > v.lo) {
            const T* src = plane + iy * g.w + v.lo * g.sw - g.pw + s * g.dw;
            if (g.sw == 1) {
              std::copy(src, src + (v.hi - v.lo), row + v.lo);
            } else {
              for (int ox = v.lo; ox < v.hi; ++ox) row[ox] = src[(ox - v.lo) * g.sw];
            }
          }
          std::fill(row + v.hi, row + g.ow, T(0));
        }
      }
    }
}

// The adjoint of im2col: dx += scatter(dcol), dcol's rows `ld` apart.
template <class T>
void col2im_add(const conv_geometry& g, int channels, const T* col, std::ptrdiff_t ld, T* dx) {
  for (int ci = 0; ci < channels; ++ci) {
    T* plane = dx + static_cast<std::ptrdiff_t>(ci) * g.h * g.w;
    for (int r = 0; r < g.kh; ++r)
      for (int s = 0; s < g.kw; ++s) {
        const valid_span v = valid_columns(g.ow, g.w, g.sw, s * g.dw - g.pw);
        if (v.hi == v.lo) continue;
        const T* in = col + static_cast<std::ptrdiff_t>((ci * g.kh + r) * g.kw + s) * ld;
        for (int oy = 0; oy < g.oh; ++oy) {
          const int iy = oy * g.sh - g.ph + r * g.dh;
          if (iy < 0 || iy >= g.h) continue;
          T* dst = plane + iy * g.w + v.lo * g.sw - g.pw + s * g.dw;
          const T* row = in + oy * g.ow;
          if (g.sw == 1) {
            for (int ox = v.lo; ox < v.hi; ++ox) dst[ox - v.lo] += row[ox];
          } else {
            for (int ox = v.lo; ox < v.hi; ++ox) dst[(ox - v.lo) * g.sw] += row[ox];
          }
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

// How a convolution's batch is cut into GEMMs.
struct conv_plan {
  int cg = 0, kg = 0;             // input and output channels per group
  std::ptrdiff_t kdim = 0, p = 0; // GEMM depth (cg * kh * kw) and output pixels per image
  std::ptrdiff_t in_plane = 0;    // h * w
  bool pointwise = false;
  int chunk = 1;                  // images per GEMM

  explicit conv_plan(const conv_geometry& g)
      : cg(g.c / g.groups), kg(g.k / g.groups), kdim(static_cast<std::ptrdiff_t>(g.c / g.groups) * g.kh * g.kw),
        p(static_cast<std::ptrdiff_t>(g.oh) * g.ow), in_plane(static_cast<std::ptrdiff_t>(g.h) * g.w),
        pointwise(is_pointwise(g)) {}

  // Enough columns that packing the filters is a small part of each product (a few hundred;
  // beyond that Eigen's blocking gains little), while one thread's lowered chunk stays within
  // a few MiB so that the scratch stays modest on wide layers.
  template <class T>
  void choose_chunk(int images_per_range) {
    constexpr std::ptrdiff_t target_columns = 512;
    constexpr std::ptrdiff_t max_bytes = std::ptrdiff_t(8) << 20;
    std::ptrdiff_t c = (target_columns + p - 1) / p;
    c = std::min<std::ptrdiff_t>(c, std::max<std::ptrdiff_t>(1, max_bytes / static_cast<std::ptrdiff_t>(sizeof(T)) /
                                                                    std::max<std::ptrdiff_t>(1, kdim * p)));
    chunk = static_cast<int>(std::clamp<std::ptrdiff_t>(c, 1, std::max(1, images_per_range)));
  }
};

// One set of lowering buffers per thread, shared by every convolution that thread runs: they
// grow to the largest chunk seen and are reused, so steady-state steps allocate nothing.
template <class T>
struct conv_buffers {
  std::vector<T> col, dcol, tmp;
};
template <class T>
conv_buffers<T>& thread_buffers() {
  thread_local conv_buffers<T> b;
  return b;
}

inline int team_size() noexcept {
#ifdef _OPENMP
  return omp_get_num_threads();
#else
  return 1;
#endif
}

// The contiguous range of images thread t of nt handles: as even as the division allows.
inline void thread_range(int n, int t, int nt, int& begin, int& end) {
  begin = static_cast<int>(static_cast<long long>(n) * t / nt);
  end = static_cast<int>(static_cast<long long>(n) * (t + 1) / nt);
}

// Lowers images [i0, i0 + m) of group gi side by side: col is kdim x (m * p). When one image
// of a 1x1 convolution is asked for, the input itself is that matrix and is returned instead.
template <class T>
const T* lower_chunk(const conv_geometry& g, const conv_plan& q, const T* x, int i0, int m, int gi, T* col) {
  const std::ptrdiff_t ld = m * q.p;
  for (int j = 0; j < m; ++j) {
    const T* xi = x + (static_cast<std::ptrdiff_t>(i0 + j) * g.c + static_cast<std::ptrdiff_t>(gi) * q.cg) * q.in_plane;
    if (q.pointwise && m == 1) return xi;
    if (q.pointwise) {
      for (int ci = 0; ci < q.cg; ++ci) std::copy_n(xi + ci * q.p, q.p, col + ci * ld + j * q.p);
    } else {
      im2col(g, q.cg, xi, col + j * q.p, ld);
    }
  }
  return col;
}

// Forward of images [i0, i1) on the calling thread.
template <class T>
void conv_forward_range(const conv_geometry& g, const conv_plan& q, const T* x, const T* w, const T* b, T* y, int i0,
                        int i1) {
  conv_buffers<T>& buf = thread_buffers<T>();
  for (int c0 = i0; c0 < i1; c0 += q.chunk) {
    const int m = std::min(q.chunk, i1 - c0);
    const std::ptrdiff_t cols = m * q.p;
    T* col = q.pointwise && m == 1 ? nullptr : scratch(buf.col, static_cast<std::size_t>(q.kdim * cols));
    T* out = m == 1 ? nullptr : scratch(buf.tmp, static_cast<std::size_t>(q.kg * cols));
    for (int gi = 0; gi < g.groups; ++gi) {
      const T* lowered = lower_chunk(g, q, x, c0, m, gi, col);
      const T* wg = w + static_cast<std::ptrdiff_t>(gi) * q.kg * q.kdim;
      const T* bg = b ? b + static_cast<std::ptrdiff_t>(gi) * q.kg : nullptr;
      if (m == 1) {   // the product lands in y directly
        T* yg = y + (static_cast<std::ptrdiff_t>(c0) * g.k + static_cast<std::ptrdiff_t>(gi) * q.kg) * q.p;
        gemm(false, false, q.kg, q.p, q.kdim, wg, q.kdim, lowered, cols, yg, q.p, accumulate::no);
        if (bg) matrix_map<T>(yg, q.kg, q.p).colwise() += const_vector_map<T>(bg, q.kg);
        continue;
      }
      gemm(false, false, q.kg, cols, q.kdim, wg, q.kdim, lowered, cols, out, cols, accumulate::no);
      // Scatter the (kg, m * p) product into each image's (k, p) planes, adding the bias.
      for (int j = 0; j < m; ++j)
        for (int k = 0; k < q.kg; ++k) {
          const T* src = out + k * cols + j * q.p;
          T* dst = y + ((static_cast<std::ptrdiff_t>(c0) + j) * g.k + static_cast<std::ptrdiff_t>(gi) * q.kg + k) * q.p;
          if (bg) {
            const T bk = bg[k];
            for (std::ptrdiff_t t = 0; t < q.p; ++t) dst[t] = src[t] + bk;
          } else {
            std::copy_n(src, q.p, dst);
          }
        }
    }
  }
}

template <class T>
void conv2d_forward(const conv_geometry& g, const T* x, const T* w, const T* b, T* y) {
  if (is_depthwise(g)) return depthwise_forward(g, x, w, b, y);
  conv_plan q(g);
  const int threads = max_threads();
  if (threads == 1 || g.n < threads) {
    // Too few images to give every thread one: one range here, Eigen parallelises each GEMM.
    q.choose_chunk<T>(g.n);
    conv_forward_range(g, q, x, w, b, y, 0, g.n);
    return;
  }
  q.choose_chunk<T>((g.n + threads - 1) / threads);
#pragma omp parallel num_threads(threads)
  {
    int i0 = 0, i1 = 0;
    thread_range(g.n, thread_index(), team_size(), i0, i1);
    conv_forward_range(g, q, x, w, b, y, i0, i1);
  }
}

// Backward of images [i0, i1) on the calling thread: their filter gradient is written to dw_out
// (overwritten, zero when the range is empty), their input gradient to dx when non-null.
template <class T>
void conv_backward_range(const conv_geometry& g, const conv_plan& q, const T* x, const T* w, const T* dy, T* dx,
                         T* dw_out, int i0, int i1) {
  if (i0 == i1) {
    std::fill(dw_out, dw_out + static_cast<std::ptrdiff_t>(g.k) * q.kdim, T(0));
    return;
  }
  conv_buffers<T>& buf = thread_buffers<T>();
  for (int c0 = i0; c0 < i1; c0 += q.chunk) {
    const int m = std::min(q.chunk, i1 - c0);
    const std::ptrdiff_t cols = m * q.p;
    T* col = q.pointwise && m == 1 ? nullptr : scratch(buf.col, static_cast<std::size_t>(q.kdim * cols));
    T* dcol = !dx || (q.pointwise && m == 1) ? nullptr : scratch(buf.dcol, static_cast<std::size_t>(q.kdim * cols));
    T* dyc = m == 1 ? nullptr : scratch(buf.tmp, static_cast<std::size_t>(q.kg * cols));
    for (int gi = 0; gi < g.groups; ++gi) {
      const std::ptrdiff_t k0 = static_cast<std::ptrdiff_t>(gi) * q.kg;
      // dy of the chunk as one (kg, m * p) matrix.
      const T* dyg = dy + (static_cast<std::ptrdiff_t>(c0) * g.k + k0) * q.p;
      if (m > 1) {
        for (int j = 0; j < m; ++j)
          for (int k = 0; k < q.kg; ++k)
            std::copy_n(dy + ((static_cast<std::ptrdiff_t>(c0) + j) * g.k + k0 + k) * q.p, q.p, dyc + k * cols + j * q.p);
        dyg = dyc;
      }
      const T* lowered = lower_chunk(g, q, x, c0, m, gi, col);
      gemm(false, true, q.kg, q.kdim, cols, dyg, cols, lowered, cols, dw_out + k0 * q.kdim, q.kdim,
           c0 == i0 ? accumulate::no : accumulate::yes);
      if (!dx) continue;
      const T* wg = w + k0 * q.kdim;
      T* dx0 = dx + (static_cast<std::ptrdiff_t>(c0) * g.c + static_cast<std::ptrdiff_t>(gi) * q.cg) * q.in_plane;
      if (q.pointwise && m == 1) {   // the product is the input gradient itself
        gemm(true, false, q.kdim, q.p, q.kg, wg, q.kdim, dyg, cols, dx0, q.p, accumulate::no);
        continue;
      }
      gemm(true, false, q.kdim, cols, q.kg, wg, q.kdim, dyg, cols, dcol, cols, accumulate::no);
      for (int j = 0; j < m; ++j) {
        T* dxi = dx0 + static_cast<std::ptrdiff_t>(j) * g.c * q.in_plane;
        if (q.pointwise) {
          for (int ci = 0; ci < q.cg; ++ci) std::copy_n(dcol + ci * cols + j * q.p, q.p, dxi + ci * q.p);
        } else {
          std::fill(dxi, dxi + q.cg * q.in_plane, T(0));
          col2im_add(g, q.cg, dcol + j * q.p, cols, dxi);
        }
      }
    }
  }
}

// dx (if non-null) and dw, db (if non-null) are overwritten.
template <class T>
void conv2d_backward(const conv_geometry& g, const T* x, const T* w, const T* dy, T* dx, T* dw, T* db) {
  if (is_depthwise(g)) return depthwise_backward(g, x, w, dy, dx, dw, db);
  conv_plan q(g);
  const std::ptrdiff_t wsize = static_cast<std::ptrdiff_t>(g.k) * q.kdim;
  if (db) {
    // Each channel sums its images in order, whatever the thread count.
#pragma omp parallel for schedule(static) if (static_cast<std::ptrdiff_t>(g.n) * g.k * q.p > parallel_threshold)
    for (int k = 0; k < g.k; ++k) {
      T acc = 0;
      for (int i = 0; i < g.n; ++i) acc += const_vector_map<T>(dy + (static_cast<std::ptrdiff_t>(i) * g.k + k) * q.p, q.p).sum();
      db[k] = acc;
    }
  }
  const int threads = max_threads();
  if (threads == 1 || g.n < threads) {
    q.choose_chunk<T>(g.n);
    conv_backward_range(g, q, x, w, dy, dx, dw, 0, g.n);
    return;
  }
  q.choose_chunk<T>((g.n + threads - 1) / threads);
  // Thread 0 writes its filter gradient into dw, the others into partial buffers that are then
  // added in thread order, so the sum does not depend on timing.
  thread_local std::vector<T> partial_buf;
  T* partial = scratch(partial_buf, static_cast<std::size_t>(wsize) * static_cast<std::size_t>(threads - 1));
  int team = 1;
#pragma omp parallel num_threads(threads)
  {
    const int t = thread_index(), nt = team_size();
    if (t == 0) team = nt;
    int i0 = 0, i1 = 0;
    thread_range(g.n, t, nt, i0, i1);
    T* dw_local = t == 0 ? dw : partial + wsize * (t - 1);
    conv_backward_range(g, q, x, w, dy, dx, dw_local, i0, i1);
  }
  vector_map<T> dwv(dw, wsize);
  for (int t = 1; t < team; ++t) dwv += const_vector_map<T>(partial + wsize * (t - 1), wsize);
}

}  // namespace cnnzoo::exec::eigen_detail
