#pragma once
#ifndef CNNZOO_CUDA_POLICY_INTERNAL
#error "cnnzoo: exec/cuda/detail_*.hpp are internal; include <cnnzoo/exec/cuda.hpp>"
#endif
// The CUDA policy's own arithmetic, one small struct per op with `operator()(i)` for output
// element (or row, plane, channel) i. The GPU runs each from one generic grid-stride kernel
// (kernels.hpp). Under a host compiler CNNZOO_HD is empty and these are ordinary C++, so the CPU
// tests run them in a plain loop against the Eigen policy: the indexing and the formulas are
// checked on a machine without a GPU, and the GPU only adds the launch.
//
// Activations are T (float, __nv_bfloat16 or __half); arithmetic is in float, sums over many
// values and the loss in double; parameters, their gradients and BatchNorm statistics are float.
// Layout: NCHW, as in the Eigen policy.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "../../core/rng.hpp"
#include "../vocabulary.hpp"

namespace cnnzoo::exec::cuda_detail {

using index_t = std::size_t;

template <class T> CNNZOO_HD inline float to_float(T v) { return static_cast<float>(v); }
template <class T> CNNZOO_HD inline T from_float(float v) { return T(v); }
template <> CNNZOO_HD inline float to_float<float>(float v) { return v; }
template <> CNNZOO_HD inline float from_float<float>(float v) { return v; }

// Finite without <cmath>'s host/device split: inf - inf and NaN - NaN are NaN.
CNNZOO_HD inline bool finite(float v) { return v - v == 0.0f; }

CNNZOO_HD inline float clampf(float x, float lo, float hi) { return x < lo ? lo : (x > hi ? hi : x); }
CNNZOO_HD inline float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

// Same definitions as the Eigen policy (exec/eigen/detail_elementwise.hpp), in float.
CNNZOO_HD inline float activate(activation a, float x) {
  switch (a) {
    case activation::identity: return x;
    case activation::relu: return x > 0.0f ? x : 0.0f;
    case activation::relu6: return clampf(x, 0.0f, 6.0f);
    case activation::sigmoid: return sigmoidf(x);
    case activation::hard_sigmoid: return clampf(x + 3.0f, 0.0f, 6.0f) / 6.0f;
    case activation::swish: return x * sigmoidf(x);
    case activation::hard_swish: return x * (clampf(x + 3.0f, 0.0f, 6.0f) / 6.0f);
  }
  return x;
}
CNNZOO_HD inline float activate_grad(activation a, float x, float y) {
  switch (a) {
    case activation::identity: return 1.0f;
    case activation::relu: return x > 0.0f ? 1.0f : 0.0f;
    case activation::relu6: return (x > 0.0f && x < 6.0f) ? 1.0f : 0.0f;
    case activation::sigmoid: return y * (1.0f - y);
    case activation::hard_sigmoid: return (x > -3.0f && x < 3.0f) ? 1.0f / 6.0f : 0.0f;
    case activation::swish: { const float s = sigmoidf(x); return s * (1.0f + x * (1.0f - s)); }
    case activation::hard_swish:
      if (x <= -3.0f) return 0.0f;
      if (x >= 3.0f) return 1.0f;
      return (2.0f * x + 3.0f) / 6.0f;
  }
  return 1.0f;
}

// ---- elementwise ---------------------------------------------------------------------------------

template <class From, class To>
struct convert_fn {
  const From* x; To* y;
  CNNZOO_HD void operator()(index_t i) const { y[i] = from_float<To>(to_float(x[i])); }
};

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

template <class T>
struct activation_forward_fn {
  activation a; const T* x; T* y;
  CNNZOO_HD void operator()(index_t i) const { y[i] = from_float<T>(activate(a, to_float(x[i]))); }
};

template <class T>
struct activation_backward_fn {
  activation a; const T* x; const T* y; const T* dy; T* dx;
  CNNZOO_HD void operator()(index_t i) const {
    dx[i] = from_float<T>(to_float(dy[i]) * activate_grad(a, to_float(x[i]), to_float(y[i])));
  }
};

// y[i] += b[channel of i]: conv bias (hw = oh * ow) and dense bias (hw = 1), NCHW.
template <class T>
struct bias_add_fn {
  index_t hw; index_t channels; const float* b; T* y;
  CNNZOO_HD void operator()(index_t i) const { y[i] = from_float<T>(to_float(y[i]) + b[(i / hw) % channels]); }
};

// db[o] = sum over rows of dy[row][o]: the dense bias gradient, one thread per column.
template <class T>
struct column_sum_fn {
  index_t rows, cols; const T* dy; float* db;
  CNNZOO_HD void operator()(index_t o) const {
    float s = 0.0f;
    for (index_t r = 0; r < rows; ++r) s += to_float(dy[r * cols + o]);
    db[o] = s;
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

// ---- channel permutations, broadcast scaling, Bernoulli masks (Eigen: detail_channels.hpp) ---------

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

// ---- attention pieces (Eigen: detail_attention.hpp) ------------------------------------------------

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

// ---- pooling -------------------------------------------------------------------------------------

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

// ---- per-channel sums (BatchNorm, conv bias gradient) -------------------------------------------
// A channel's values are the n * hw elements (img, p) at (img * C + c) * hw + p. The GPU splits
// them into `slices` contiguous runs, sums each in one block (partial[c * slices + s]), and a
// per-channel finaliser adds the runs in order, in double: deterministic, and no atomics.

struct sum2 { float a, b; };

CNNZOO_HD inline index_t channel_element(index_t c, index_t j, index_t channels, index_t hw) {
  return ((j / hw) * channels + c) * hw + j % hw;
}

// The values summed for BatchNorm's mean, its variance (around the mean already found), the
// backward pass (dy and dy * xhat), and a convolution's bias gradient (dy).
template <class T>
struct sum_x_fn {
  const T* x;
  CNNZOO_HD sum2 operator()(index_t at, index_t) const { return {to_float(x[at]), 0.0f}; }
};
template <class T>
struct sum_sq_dev_fn {
  const T* x; const float* mean;
  CNNZOO_HD sum2 operator()(index_t at, index_t c) const {
    const float d = to_float(x[at]) - mean[c];
    return {d * d, 0.0f};
  }
};
template <class T>
struct sum_bn_backward_fn {
  const T* x; const T* dy; const float* mean; const float* invstd;
  CNNZOO_HD sum2 operator()(index_t at, index_t c) const {
    const float g = to_float(dy[at]);
    return {g, g * (to_float(x[at]) - mean[c]) * invstd[c]};
  }
};

CNNZOO_HD inline double total_a(const sum2* p, index_t slices, index_t c) {
  double s = 0;
  for (index_t k = 0; k < slices; ++k) s += p[c * slices + k].a;
  return s;
}
CNNZOO_HD inline double total_b(const sum2* p, index_t slices, index_t c) {
  double s = 0;
  for (index_t k = 0; k < slices; ++k) s += p[c * slices + k].b;
  return s;
}

struct bn_mean_fn {
  const sum2* partial; index_t slices; double count; float* save_mean;
  CNNZOO_HD void operator()(index_t c) const { save_mean[c] = static_cast<float>(total_a(partial, slices, c) / count); }
};

// Biased variance for normalising, unbiased for the running estimate (as PyTorch and Keras).
struct bn_var_fn {
  const sum2* partial; index_t slices; double count, eps, momentum;
  const float* save_mean; float* save_invstd; float* running_mean; float* running_var;
  CNNZOO_HD void operator()(index_t c) const {
    const double var = total_a(partial, slices, c) / count;
    save_invstd[c] = static_cast<float>(1.0 / sqrt(var + eps));
    const double unbiased = count > 1 ? var * count / (count - 1) : var;
    running_mean[c] = static_cast<float>((1.0 - momentum) * running_mean[c] + momentum * save_mean[c]);
    running_var[c] = static_cast<float>((1.0 - momentum) * running_var[c] + momentum * unbiased);
  }
};

struct bn_infer_stats_fn {
  double eps; const float* running_mean; const float* running_var; float* save_mean; float* save_invstd;
  CNNZOO_HD void operator()(index_t c) const {
    save_mean[c] = running_mean[c];
    save_invstd[c] = static_cast<float>(1.0 / sqrt(static_cast<double>(running_var[c]) + eps));
  }
};

template <class T>
struct bn_apply_fn {
  index_t hw, channels; const T* x; const float* gamma; const float* beta; const float* mean;
  const float* invstd; T* y;
  CNNZOO_HD void operator()(index_t i) const {
    const index_t c = (i / hw) % channels;
    const float scale = gamma[c] * invstd[c];
    y[i] = from_float<T>(to_float(x[i]) * scale + (beta[c] - mean[c] * scale));
  }
};

// dgamma, dbeta, and the two means the input gradient subtracts (0 in inference mode, where the
// statistics are constants). coef[c] = mean dy, coef[channels + c] = mean dy * xhat.
struct bn_backward_finalize_fn {
  const sum2* partial; index_t slices, channels; double count; bool training;
  float* dgamma; float* dbeta; float* coef;
  CNNZOO_HD void operator()(index_t c) const {
    const double sdy = total_a(partial, slices, c), sdyx = total_b(partial, slices, c);
    dgamma[c] = static_cast<float>(sdyx);
    dbeta[c] = static_cast<float>(sdy);
    coef[c] = training ? static_cast<float>(sdy / count) : 0.0f;
    coef[channels + c] = training ? static_cast<float>(sdyx / count) : 0.0f;
  }
};

template <class T>
struct bn_backward_dx_fn {
  index_t hw, channels; const T* x; const T* dy; const float* gamma; const float* mean; const float* invstd;
  const float* coef; T* dx;
  CNNZOO_HD void operator()(index_t i) const {
    const index_t c = (i / hw) % channels;
    const float xhat = (to_float(x[i]) - mean[c]) * invstd[c];
    dx[i] = from_float<T>(gamma[c] * invstd[c] * (to_float(dy[i]) - coef[c] - xhat * coef[channels + c]));
  }
};

struct channel_total_fn {
  const sum2* partial; index_t slices; float* out;
  CNNZOO_HD void operator()(index_t c) const { out[c] = static_cast<float>(total_a(partial, slices, c)); }
};

// ---- loss, loss scaling and the optimiser -------------------------------------------------------

// Dynamic loss scaling for fp16, kept on the device so a step needs no host round trip.
struct loss_scale_state {
  float scale = 1.0f, inv_scale = 1.0f;
  int overflow = 0;        // set by the gradient check of the current step
  int good_steps = 0;      // clean steps since the scale last changed
  int skipped_steps = 0;   // steps skipped for non-finite gradients, in total
};

// fp16 loss scaling: which gradients carry the loss scale. The loss (softmax_cross_entropy,
// loss_and_accuracy) multiplies dlogits by the scale, so the scale reaches exactly what the
// backward pass writes from them: the network's own gradient buffer, bound by bind_parameters.
// The rule, applied in sum_of_squares, sgd_update and the device step's clipping:
//  - between a loss and the next update of the bound gradients, a buffer lying inside them
//    carries the scale and is read unscaled; any other buffer is taken as it is;
//  - sgd_update unscales (and checks for overflow, and adapts the scale) only when it is given
//    the whole bound gradient buffer, which ends the scaled stretch; a part of it is refused,
//    since the overflow check and the scale's adaptation are per step, not per part.
struct scaled_gradients {
  const float* begin = nullptr;   // the bound gradient buffer
  std::size_t count = 0;
  bool pending = false;           // a loss was computed since its last update

  bool inside(const float* p, std::size_t n) const noexcept {
    const auto a = reinterpret_cast<std::uintptr_t>(p), b = reinterpret_cast<std::uintptr_t>(begin);
    return begin && a >= b && a + n * sizeof(float) <= b + count * sizeof(float);
  }
  bool overlaps(const float* p, std::size_t n) const noexcept {
    const auto a = reinterpret_cast<std::uintptr_t>(p), b = reinterpret_cast<std::uintptr_t>(begin);
    return begin && n > 0 && a < b + count * sizeof(float) && a + n * sizeof(float) > b;
  }
  bool whole(const float* p, std::size_t n) const noexcept { return begin && p == begin && n == count; }
  // Read by sum_of_squares and clipping: does this buffer still carry the scale?
  bool carries_scale(const float* p, std::size_t n) const noexcept { return pending && inside(p, n); }
  // For sgd_update: true to unscale, false to take the gradients as they are; throws for a
  // part of the bound gradients while they are scaled.
  bool unscale_in_update(const float* p, std::size_t n) const {
    if (!pending || !overlaps(p, n)) return false;
    if (whole(p, n)) return true;
    throw std::logic_error("cnnzoo: sgd_update on part of the bound gradient buffer (" + std::to_string(n) + " of " +
                           std::to_string(count) + " values) while it carries the fp16 loss scale: update the "
                           "whole buffer in one call");
  }
};

// What a device step reads and writes in policy memory (cuda::enable_device_steps).
struct step_inputs {
  double lr = 0;
  std::uint64_t seed = 0;   // XORed into every dropout and drop-path key
  long long step = 0;       // the caller's step number, reported for a non-finite loss
};
struct device_step {
  step_inputs in;           // staged by the host before each step
  float clip_scale = 1.0f;  // written by clip_scale_fn
  int bad = 0;              // this step's loss is not finite: the update is skipped
  ops::step_totals totals;
};

// One row of mean softmax cross-entropy against soft targets, in double as the Eigen policy;
// dlogits are multiplied by the loss scale when there is one.
template <class T>
struct softmax_xent_fn {
  index_t classes; double inv_n; const T* logits; const T* targets; T* dlogits; double* row_loss;
  const loss_scale_state* ls;
  const std::uint8_t* labels = nullptr;    // device steps: count argmax(logits) == label
  unsigned char* row_correct = nullptr;
  CNNZOO_HD void operator()(index_t i) const {
    const T* z = logits + i * classes;
    const T* t = targets + i * classes;
    T* d = dlogits + i * classes;
    double zmax = to_float(z[0]);
    for (index_t k = 1; k < classes; ++k) zmax = to_float(z[k]) > zmax ? to_float(z[k]) : zmax;
    double sum = 0;
    for (index_t k = 0; k < classes; ++k) sum += exp(static_cast<double>(to_float(z[k])) - zmax);
    const double log_sum = zmax + log(sum);
    const double scale = ls ? static_cast<double>(ls->scale) : 1.0;
    double loss = 0;
    for (index_t k = 0; k < classes; ++k) {
      const double logp = static_cast<double>(to_float(z[k])) - log_sum;
      const double tk = to_float(t[k]);
      loss -= tk * logp;
      d[k] = from_float<T>(static_cast<float>((exp(logp) - tk) * inv_n * scale));
    }
    row_loss[i] = loss;
    if (row_correct) {
      index_t best = 0;
      for (index_t k = 1; k < classes; ++k) best = to_float(z[k]) > to_float(z[best]) ? k : best;
      row_correct[i] = best == labels[i] ? 1 : 0;
    }
  }
};

// One thread: the step's loss from the rows, into the totals; a non-finite loss marks the step bad
// (sgd_fn then leaves the parameters alone) and is counted instead.
struct step_finalize_fn {
  index_t n; const double* row_loss; const unsigned char* row_correct; device_step* s;
  CNNZOO_HD void operator()(index_t) const {
    double sum = 0;
    unsigned long long correct = 0;
    for (index_t i = 0; i < n; ++i) {
      sum += row_loss[i];
      correct += row_correct[i];
    }
    const bool bad = !(sum - sum == 0.0);
    s->bad = bad ? 1 : 0;
    s->totals.steps += 1;
    if (bad) {
      if (s->totals.bad_steps == 0) {
        s->totals.first_bad_step = s->in.step;
        s->totals.first_bad_loss = sum / static_cast<double>(n);
      }
      s->totals.bad_steps += 1;
      s->totals.last_loss = sum / static_cast<double>(n);
    } else {
      s->totals.loss_sum += sum;
      s->totals.images += n;
      s->totals.correct += correct;
      s->totals.last_loss = sum / static_cast<double>(n);
    }
  }
};

// One thread: the clipping factor from the per-block sums of squared gradients, which still carry
// the fp16 loss scale when there is one.
struct clip_scale_fn {
  index_t blocks; const double* partial; double clip_norm; const loss_scale_state* ls; device_step* s;
  CNNZOO_HD void operator()(index_t) const {
    double total = 0;
    for (index_t b = 0; b < blocks; ++b) total += partial[b];
    if (ls) total /= static_cast<double>(ls->scale) * static_cast<double>(ls->scale);
    const double norm = sqrt(total);
    s->clip_scale = norm > clip_norm ? static_cast<float>(clip_norm / norm) : 1.0f;
  }
};

struct nonfinite_check_fn {
  const float* g; loss_scale_state* ls;
  CNNZOO_HD void operator()(index_t i) const {
    if (!finite(g[i])) ls->overflow = 1;   // every writer stores the same value: a benign race
  }
};

// Run once per step after the update: back off on overflow, grow after a clean stretch.
struct loss_scale_update_fn {
  loss_scale_state* ls; int growth_interval; bool dynamic;
  const device_step* step = nullptr;   // device steps: a non-finite loss is not an overflow to adapt to
  CNNZOO_HD void operator()(index_t) const {
    if (step && step->bad) {
      ls->overflow = 0;
      return;
    }
    if (ls->overflow) {
      ++ls->skipped_steps;
      if (dynamic) ls->scale = ls->scale * 0.5f < 1.0f ? 1.0f : ls->scale * 0.5f;
      ls->good_steps = 0;
    } else if (dynamic && ++ls->good_steps >= growth_interval) {
      ls->scale = ls->scale * 2.0f > 16777216.0f ? 16777216.0f : ls->scale * 2.0f;
      ls->good_steps = 0;
    }
    ls->inv_scale = 1.0f / ls->scale;
    ls->overflow = 0;
  }
};

// SGD as the Eigen policy (PyTorch's formulation), in double per element. When `work` is set the
// compute-dtype copy of the weights is refreshed in the same pass; with a loss-scale state the
// gradients are unscaled, and the whole step is skipped if any of them was not finite.
template <class T>
struct sgd_fn {
  float* w; const float* grad; float* velocity; const float* decay_mask; T* work;
  double lr, momentum, weight_decay, grad_scale; bool nesterov; const loss_scale_state* ls;
  const device_step* step = nullptr;   // device steps: lr, the clipping factor and the skip flag
  bool clip = false;
  CNNZOO_HD void operator()(index_t i) const {
    if (ls && ls->overflow) return;
    if (step && step->bad) return;
    double gs = ls ? grad_scale * static_cast<double>(ls->inv_scale) : grad_scale;
    if (step && clip) gs *= static_cast<double>(step->clip_scale);
    const double lr = step ? step->in.lr : this->lr;
    const double g = gs * grad[i] + weight_decay * (decay_mask ? decay_mask[i] : 1.0f) * w[i];
    const double v = momentum * velocity[i] + g;
    velocity[i] = static_cast<float>(v);
    const float nw = static_cast<float>(w[i] - lr * (nesterov ? g + momentum * v : v));
    w[i] = nw;
    if (work) work[i] = from_float<T>(nw);
  }
};

}  // namespace cnnzoo::exec::cuda_detail
