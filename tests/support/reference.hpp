#pragma once
// Naive reference implementations of every op of the execution policies, in double, written as
// plain loops straight from the definitions. They share nothing with the policies' kernels (no
// im2col, no GEMM, no fused formulas), so agreeing with them means the kernels compute the
// textbook function, not merely the same thing twice. NCHW throughout; parameter layouts are the
// ones fixed in ops/geometry.hpp (conv weight [out][in / groups][kh][kw], dense weight [out][in]).
//
// Also here: random test data, a tolerance comparison with a readable failure message, and at the
// end `probe`, which runs a model on the Eigen policy with the same data the reference gets.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <stdexcept>
#include <vector>

#include <cnnzoo/cnnzoo.hpp>
#include <cnnzoo/core/rng.hpp>
#include <cnnzoo/exec/eigen.hpp>

namespace cnnzoo::testing::ref {

using vec = std::vector<double>;

// ---- test data and comparison --------------------------------------------------------------

inline vec random_vector(std::size_t count, std::uint64_t seed, double scale = 1.0) {
  rng g(seed);
  vec v(count);
  for (double& x : v) x = scale * g.normal();
  return v;
}

template <class T>
std::vector<T> cast(const vec& v) {
  return std::vector<T>(v.begin(), v.end());
}

struct closeness {
  bool ok = true;
  double worst = 0;            // largest |a - e| / (atol + rtol |e|)
  std::string first_failure;
  std::size_t failures = 0;
};

// Elementwise |actual - expected| <= atol + rtol * |expected|.
template <class A>
closeness compare(const A* actual, const vec& expected, double rtol, double atol) {
  closeness c;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const double a = static_cast<double>(actual[i]), e = expected[i];
    const double bound = atol + rtol * std::abs(e);
    const double err = std::abs(a - e);
    c.worst = std::max(c.worst, err / bound);
    if (!(err <= bound)) {   // also catches NaN
      if (c.failures++ == 0) {
        std::ostringstream s;
        s.precision(12);
        s << "[" << i << "] actual " << a << " expected " << e;
        c.first_failure = s.str();
      }
      c.ok = false;
    }
  }
  return c;
}

// Tolerances for results computed in T and compared with a double reference.
template <class T> inline constexpr double rtol_for = sizeof(T) == 8 ? 1e-11 : 2e-5;
template <class T> inline constexpr double atol_for = sizeof(T) == 8 ? 1e-11 : 2e-5;

#define CNNZOO_CHECK_CLOSE(actual_ptr, expected_vec, rtol, atol)                                          \
  do {                                                                                                    \
    const auto c_ = ::cnnzoo::testing::ref::compare((actual_ptr), (expected_vec), (rtol), (atol));       \
    INFO(#actual_ptr << " vs " << #expected_vec << ": " << c_.failures << " of " << (expected_vec).size() \
                     << " differ, worst error/tolerance " << c_.worst << "; first: " << c_.first_failure); \
    CHECK(c_.ok);                                                                                         \
  } while (false)

// ---- convolution ---------------------------------------------------------------------------

struct conv_params {
  int n = 1, c = 1, h = 1, w = 1;   // input
  int k = 1, kh = 1, kw = 1;        // filters and window
  int sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1, groups = 1;
  int out_h() const { return (h + 2 * ph - (dh * (kh - 1) + 1)) / sh + 1; }
  int out_w() const { return (w + 2 * pw - (dw * (kw - 1) + 1)) / sw + 1; }
  std::size_t in_count() const { return static_cast<std::size_t>(n) * c * h * w; }
  std::size_t out_count() const { return static_cast<std::size_t>(n) * k * out_h() * out_w(); }
  std::size_t weight_count() const { return static_cast<std::size_t>(k) * (c / groups) * kh * kw; }
};

// y[n][o][oy][ox] = b[o] + sum over the input channels of o's group and the window taps of
//                   w[o][ci][r][s] * x[n][group_start + ci][oy*sh - ph + r*dh][ox*sw - pw + s*dw]
// with x = 0 outside the image. b may be empty.
inline vec conv2d(const conv_params& p, const vec& x, const vec& w, const vec& b) {
  const int oh = p.out_h(), ow = p.out_w(), cg = p.c / p.groups, kg = p.k / p.groups;
  vec y(p.out_count(), 0.0);
  for (int n = 0; n < p.n; ++n)
    for (int o = 0; o < p.k; ++o) {
      const int first_in = (o / kg) * cg;
      for (int oy = 0; oy < oh; ++oy)
        for (int ox = 0; ox < ow; ++ox) {
          double acc = b.empty() ? 0.0 : b[o];
          for (int ci = 0; ci < cg; ++ci)
            for (int r = 0; r < p.kh; ++r)
              for (int s = 0; s < p.kw; ++s) {
                const int iy = oy * p.sh - p.ph + r * p.dh, ix = ox * p.sw - p.pw + s * p.dw;
                if (iy < 0 || iy >= p.h || ix < 0 || ix >= p.w) continue;
                acc += w[((static_cast<std::size_t>(o) * cg + ci) * p.kh + r) * p.kw + s] *
                       x[((static_cast<std::size_t>(n) * p.c + first_in + ci) * p.h + iy) * p.w + ix];
              }
          y[((static_cast<std::size_t>(n) * p.k + o) * oh + oy) * ow + ox] = acc;
        }
    }
  return y;
}

struct conv_grads { vec dx, dw, db; };

// The same sum read backwards: every product w * x above contributes dy * x to dw and dy * w to dx.
inline conv_grads conv2d_backward(const conv_params& p, const vec& x, const vec& w, const vec& dy) {
  const int oh = p.out_h(), ow = p.out_w(), cg = p.c / p.groups, kg = p.k / p.groups;
  conv_grads g{vec(x.size(), 0.0), vec(w.size(), 0.0), vec(static_cast<std::size_t>(p.k), 0.0)};
  for (int n = 0; n < p.n; ++n)
    for (int o = 0; o < p.k; ++o) {
      const int first_in = (o / kg) * cg;
      for (int oy = 0; oy < oh; ++oy)
        for (int ox = 0; ox < ow; ++ox) {
          const double d = dy[((static_cast<std::size_t>(n) * p.k + o) * oh + oy) * ow + ox];
          g.db[static_cast<std::size_t>(o)] += d;
          for (int ci = 0; ci < cg; ++ci)
            for (int r = 0; r < p.kh; ++r)
              for (int s = 0; s < p.kw; ++s) {
                const int iy = oy * p.sh - p.ph + r * p.dh, ix = ox * p.sw - p.pw + s * p.dw;
                if (iy < 0 || iy >= p.h || ix < 0 || ix >= p.w) continue;
                const std::size_t wi = ((static_cast<std::size_t>(o) * cg + ci) * p.kh + r) * p.kw + s;
                const std::size_t xi = ((static_cast<std::size_t>(n) * p.c + first_in + ci) * p.h + iy) * p.w + ix;
                g.dw[wi] += d * x[xi];
                g.dx[xi] += d * w[wi];
              }
        }
    }
  return g;
}

// ---- batch normalisation -------------------------------------------------------------------

struct batch_norm_result {
  vec y, mean, var;                 // var: the biased batch variance (what normalises)
};

// Training mode: per channel c over the n*hw values, mean and biased variance; y = gamma (x -
// mean) / sqrt(var + eps) + beta. The running statistics move by momentum towards the mean and
// the *unbiased* variance var * m / (m - 1).
inline batch_norm_result batch_norm_train(int n, int c, int hw, const vec& x, const vec& gamma, const vec& beta,
                                          double eps, double momentum, vec& running_mean, vec& running_var) {
  batch_norm_result r{vec(x.size()), vec(static_cast<std::size_t>(c)), vec(static_cast<std::size_t>(c))};
  const double m = static_cast<double>(n) * hw;
  for (int ch = 0; ch < c; ++ch) {
    double sum = 0;
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < hw; ++j) sum += x[(static_cast<std::size_t>(i) * c + ch) * hw + j];
    const double mean = sum / m;
    double sq = 0;
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < hw; ++j) {
        const double d = x[(static_cast<std::size_t>(i) * c + ch) * hw + j] - mean;
        sq += d * d;
      }
    const double var = sq / m;
    r.mean[ch] = mean;
    r.var[ch] = var;
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < hw; ++j) {
        const std::size_t k = (static_cast<std::size_t>(i) * c + ch) * hw + j;
        r.y[k] = gamma[ch] * (x[k] - mean) / std::sqrt(var + eps) + beta[ch];
      }
    running_mean[ch] = (1 - momentum) * running_mean[ch] + momentum * mean;
    running_var[ch] = (1 - momentum) * running_var[ch] + momentum * (m > 1 ? var * m / (m - 1) : var);
  }
  return r;
}

// Inference mode: the running statistics normalise.
inline vec batch_norm_infer(int n, int c, int hw, const vec& x, const vec& gamma, const vec& beta, double eps,
                            const vec& running_mean, const vec& running_var) {
  vec y(x.size());
  for (int i = 0; i < n; ++i)
    for (int ch = 0; ch < c; ++ch)
      for (int j = 0; j < hw; ++j) {
        const std::size_t k = (static_cast<std::size_t>(i) * c + ch) * hw + j;
        y[k] = gamma[ch] * (x[k] - running_mean[ch]) / std::sqrt(running_var[ch] + eps) + beta[ch];
      }
  return y;
}

struct batch_norm_grads { vec dx, dgamma, dbeta; };

// Training-mode gradients by the chain rule through mean and variance, term by term (the
// textbook derivation, not the compact form a kernel uses).
inline batch_norm_grads batch_norm_train_backward(int n, int c, int hw, const vec& x, const vec& gamma, double eps,
                                                  const vec& dy) {
  batch_norm_grads g{vec(x.size()), vec(static_cast<std::size_t>(c)), vec(static_cast<std::size_t>(c))};
  const double m = static_cast<double>(n) * hw;
  auto at = [&](int i, int ch, int j) { return (static_cast<std::size_t>(i) * c + ch) * hw + j; };
  for (int ch = 0; ch < c; ++ch) {
    double mean = 0, var = 0;
    for (int i = 0; i < n; ++i) for (int j = 0; j < hw; ++j) mean += x[at(i, ch, j)];
    mean /= m;
    for (int i = 0; i < n; ++i) for (int j = 0; j < hw; ++j) var += (x[at(i, ch, j)] - mean) * (x[at(i, ch, j)] - mean);
    var /= m;
    const double sd = std::sqrt(var + eps);
    double dvar = 0, dmean = 0, sum_centered = 0;
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < hw; ++j) {
        const std::size_t k = at(i, ch, j);
        const double dxhat = dy[k] * gamma[ch];
        g.dgamma[ch] += dy[k] * (x[k] - mean) / sd;
        g.dbeta[ch] += dy[k];
        dvar += dxhat * (x[k] - mean) * -0.5 * std::pow(var + eps, -1.5);
        dmean += -dxhat / sd;
        sum_centered += x[k] - mean;
      }
    dmean += dvar * -2.0 * sum_centered / m;
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < hw; ++j) {
        const std::size_t k = at(i, ch, j);
        g.dx[k] = dy[k] * gamma[ch] / sd + dvar * 2.0 * (x[k] - mean) / m + dmean / m;
      }
  }
  return g;
}

// Inference mode: an affine map per channel with constant statistics.
inline batch_norm_grads batch_norm_infer_backward(int n, int c, int hw, const vec& x, const vec& gamma, double eps,
                                                  const vec& running_mean, const vec& running_var, const vec& dy) {
  batch_norm_grads g{vec(x.size()), vec(static_cast<std::size_t>(c)), vec(static_cast<std::size_t>(c))};
  for (int i = 0; i < n; ++i)
    for (int ch = 0; ch < c; ++ch)
      for (int j = 0; j < hw; ++j) {
        const std::size_t k = (static_cast<std::size_t>(i) * c + ch) * hw + j;
        const double sd = std::sqrt(running_var[ch] + eps);
        g.dx[k] = dy[k] * gamma[ch] / sd;
        g.dgamma[ch] += dy[k] * (x[k] - running_mean[ch]) / sd;
        g.dbeta[ch] += dy[k];
      }
  return g;
}

// ---- activations ---------------------------------------------------------------------------

enum class act { relu, relu6, sigmoid, hard_sigmoid, swish, hard_swish };

inline double activate(act a, double x) {
  const auto relu6 = [](double v) { return std::min(std::max(v, 0.0), 6.0); };
  const auto sigmoid = [](double v) { return 1.0 / (1.0 + std::exp(-v)); };
  switch (a) {
    case act::relu: return std::max(x, 0.0);
    case act::relu6: return relu6(x);
    case act::sigmoid: return sigmoid(x);
    case act::hard_sigmoid: return relu6(x + 3.0) / 6.0;
    case act::swish: return x * sigmoid(x);
    case act::hard_swish: return x * relu6(x + 3.0) / 6.0;
  }
  return x;
}

// The derivative on each open piece (the kinks are never sampled by the tests).
inline double activate_derivative(act a, double x) {
  const double s = 1.0 / (1.0 + std::exp(-x));
  switch (a) {
    case act::relu: return x > 0 ? 1.0 : 0.0;
    case act::relu6: return x > 0 && x < 6 ? 1.0 : 0.0;
    case act::sigmoid: return s * (1 - s);
    case act::hard_sigmoid: return x > -3 && x < 3 ? 1.0 / 6.0 : 0.0;
    case act::swish: return s + x * s * (1 - s);
    case act::hard_swish: return x <= -3 ? 0.0 : x >= 3 ? 1.0 : (2 * x + 3) / 6.0;
  }
  return 1.0;
}

inline vec activation(act a, const vec& x) {
  vec y(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = activate(a, x[i]);
  return y;
}
inline vec activation_backward(act a, const vec& x, const vec& dy) {
  vec dx(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) dx[i] = dy[i] * activate_derivative(a, x[i]);
  return dx;
}

// ---- pooling -------------------------------------------------------------------------------

struct pool_params {
  int n = 1, c = 1, h = 1, w = 1;
  int size = 2, stride = 2, pad = 0;
  int out_h() const { return (h + 2 * pad - size) / stride + 1; }
  int out_w() const { return (w + 2 * pad - size) / stride + 1; }
};

// Max: the largest in-image value under the window. Average: the mean of the in-image values
// under the window (padding is excluded from the count).
inline vec pool(bool max, const pool_params& p, const vec& x) {
  const int oh = p.out_h(), ow = p.out_w();
  vec y(static_cast<std::size_t>(p.n) * p.c * oh * ow);
  for (int nc = 0; nc < p.n * p.c; ++nc)
    for (int oy = 0; oy < oh; ++oy)
      for (int ox = 0; ox < ow; ++ox) {
        double best = -HUGE_VAL, sum = 0;
        int count = 0;
        for (int iy = oy * p.stride - p.pad; iy < oy * p.stride - p.pad + p.size; ++iy)
          for (int ix = ox * p.stride - p.pad; ix < ox * p.stride - p.pad + p.size; ++ix) {
            if (iy < 0 || iy >= p.h || ix < 0 || ix >= p.w) continue;
            const double v = x[(static_cast<std::size_t>(nc) * p.h + iy) * p.w + ix];
            best = std::max(best, v);
            sum += v;
            ++count;
          }
        y[(static_cast<std::size_t>(nc) * oh + oy) * ow + ox] = max ? best : sum / count;
      }
  return y;
}

// Max sends each output's gradient to the (first, in row-major order) arg-max of its window;
// average spreads it equally over the window's in-image pixels.
inline vec pool_backward(bool max, const pool_params& p, const vec& x, const vec& dy) {
  const int oh = p.out_h(), ow = p.out_w();
  vec dx(x.size(), 0.0);
  for (int nc = 0; nc < p.n * p.c; ++nc)
    for (int oy = 0; oy < oh; ++oy)
      for (int ox = 0; ox < ow; ++ox) {
        const double d = dy[(static_cast<std::size_t>(nc) * oh + oy) * ow + ox];
        std::vector<std::size_t> inside;
        for (int iy = oy * p.stride - p.pad; iy < oy * p.stride - p.pad + p.size; ++iy)
          for (int ix = ox * p.stride - p.pad; ix < ox * p.stride - p.pad + p.size; ++ix)
            if (iy >= 0 && iy < p.h && ix >= 0 && ix < p.w)
              inside.push_back((static_cast<std::size_t>(nc) * p.h + iy) * p.w + ix);
        if (max) {
          std::size_t arg = inside[0];
          for (std::size_t i : inside) if (x[i] > x[arg]) arg = i;
          dx[arg] += d;
        } else {
          for (std::size_t i : inside) dx[i] += d / static_cast<double>(inside.size());
        }
      }
  return dx;
}

// (n, c, hw) -> (n, c): mean or max over each plane.
inline vec global_pool(bool max, int n, int c, int hw, const vec& x) {
  vec y(static_cast<std::size_t>(n) * c);
  for (std::size_t nc = 0; nc < y.size(); ++nc) {
    double best = -HUGE_VAL, sum = 0;
    for (int j = 0; j < hw; ++j) {
      best = std::max(best, x[nc * hw + j]);
      sum += x[nc * hw + j];
    }
    y[nc] = max ? best : sum / hw;
  }
  return y;
}
inline vec global_pool_backward(bool max, int n, int c, int hw, const vec& x, const vec& dy) {
  vec dx(x.size(), 0.0);
  for (std::size_t nc = 0; nc < static_cast<std::size_t>(n) * c; ++nc) {
    std::size_t arg = nc * hw;
    for (int j = 0; j < hw; ++j) {
      if (max && x[nc * hw + j] > x[arg]) arg = nc * hw + j;
      if (!max) dx[nc * hw + j] = dy[nc] / hw;
    }
    if (max) dx[arg] = dy[nc];
  }
  return dx;
}

// ---- dense ---------------------------------------------------------------------------------

// y[i][o] = b[o] + sum_j w[o][j] x[i][j]; b may be empty.
inline vec dense(int n, int in, int out, const vec& x, const vec& w, const vec& b) {
  vec y(static_cast<std::size_t>(n) * out);
  for (int i = 0; i < n; ++i)
    for (int o = 0; o < out; ++o) {
      double acc = b.empty() ? 0.0 : b[o];
      for (int j = 0; j < in; ++j) acc += w[static_cast<std::size_t>(o) * in + j] * x[static_cast<std::size_t>(i) * in + j];
      y[static_cast<std::size_t>(i) * out + o] = acc;
    }
  return y;
}

struct dense_grads { vec dx, dw, db; };
inline dense_grads dense_backward(int n, int in, int out, const vec& x, const vec& w, const vec& dy) {
  dense_grads g{vec(x.size(), 0.0), vec(w.size(), 0.0), vec(static_cast<std::size_t>(out), 0.0)};
  for (int i = 0; i < n; ++i)
    for (int o = 0; o < out; ++o) {
      const double d = dy[static_cast<std::size_t>(i) * out + o];
      g.db[o] += d;
      for (int j = 0; j < in; ++j) {
        g.dw[static_cast<std::size_t>(o) * in + j] += d * x[static_cast<std::size_t>(i) * in + j];
        g.dx[static_cast<std::size_t>(i) * in + j] += d * w[static_cast<std::size_t>(o) * in + j];
      }
    }
  return g;
}

// ---- elementwise and channel blocks (the joins of residual, sum, mean_join, concat) ----------

inline vec add(const vec& a, const vec& b) {
  vec y(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) y[i] = a[i] + b[i];
  return y;
}
inline vec scaled(const vec& a, double s) {
  vec y(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) y[i] = s * a[i];
  return y;
}

// Stacks per-image blocks along channels: image i of the result is block 0's channels of image
// i, then block 1's, ... Each block is (tensor, its channel count).
struct channel_block { const vec* values; int channels; };
inline vec concat_channels(int n, int hw, const std::vector<channel_block>& blocks) {
  vec y;
  for (int i = 0; i < n; ++i)
    for (const channel_block& b : blocks) {
      const std::size_t len = static_cast<std::size_t>(b.channels) * hw;
      y.insert(y.end(), b.values->begin() + static_cast<std::ptrdiff_t>(i * len),
               b.values->begin() + static_cast<std::ptrdiff_t>((i + 1) * len));
    }
  return y;
}
// Channels [first, first + count) of every image of an (n, c, hw) tensor.
inline vec channel_slice(int n, int c, int hw, const vec& x, int first, int count) {
  vec y;
  for (int i = 0; i < n; ++i) {
    const auto start = x.begin() + static_cast<std::ptrdiff_t>((static_cast<std::size_t>(i) * c + first) * hw);
    y.insert(y.end(), start, start + static_cast<std::ptrdiff_t>(count) * hw);
  }
  return y;
}

// ---- loss ----------------------------------------------------------------------------------

// Hard labels with label smoothing eps as soft targets: (1 - eps) one-hot + eps / classes.
inline vec smoothed_targets(const std::vector<int>& labels, int classes, double eps) {
  vec t(labels.size() * classes, eps / classes);
  for (std::size_t i = 0; i < labels.size(); ++i) t[i * classes + labels[i]] += 1 - eps;
  return t;
}

struct loss_result { double loss = 0; vec dlogits; };

// Mean over the batch of -sum_k t_k log softmax(z)_k; its gradient is (softmax(z) - t) / n.
// log softmax is taken as z - log sum exp z, shifted by the row's maximum so that large logits
// do not overflow (the shift cancels exactly).
inline loss_result softmax_cross_entropy(int n, int classes, const vec& z, const vec& t) {
  loss_result r{0, vec(z.size())};
  for (int i = 0; i < n; ++i) {
    const double* row = z.data() + static_cast<std::size_t>(i) * classes;
    const double top = *std::max_element(row, row + classes);
    double denom = 0;
    for (int k = 0; k < classes; ++k) denom += std::exp(row[k] - top);
    for (int k = 0; k < classes; ++k) {
      const std::size_t j = static_cast<std::size_t>(i) * classes + k;
      const double log_p = row[k] - top - std::log(denom);
      r.loss -= t[j] * log_p;
      r.dlogits[j] = (std::exp(log_p) - t[j]) / n;
    }
  }
  r.loss /= n;
  return r;
}

}  // namespace cnnzoo::testing::ref

// ---- a model on the Eigen policy with given data ---------------------------------------------
// Not a reference itself: the harness that feeds a bound layer or combinator (wrapped as a model,
// e.g. by testing::as_model) the same random numbers the reference gets. Values are rounded to
// T once and kept as doubles, so a float run and the double reference see identical inputs.
namespace cnnzoo::testing {

template <model M, class T>
struct probe {
  using net_t = network<M, exec::eigen<T>>;
  static constexpr shape in = net_t::input_shape;
  static constexpr int outputs = net_t::classes;
  int n;
  net_t net;
  ref::vec x, params, state;

  static ref::vec rounded(ref::vec v) {
    for (double& d : v) d = static_cast<double>(static_cast<T>(d));
    return v;
  }
  void upload(T* dst, const ref::vec& v) {
    const std::vector<T> t = ref::cast<T>(v);
    net.policy().upload(dst, t.data(), t.size());
  }

  // Parameters ~ N(0, param_scale^2), running means ~ N(0, 0.25), running variances in [0.5, 1.5].
  probe(int batch, std::uint64_t seed, bool training, double param_scale = 0.5)
      : n(batch), net(batch, seed) {
    net.set_training(training);
    params = rounded(ref::random_vector(net_t::param_count(), seed + 1, param_scale));
    upload(net.params(), params);
    state.assign(net_t::state_count(), 0.0);
    rng g(seed + 2);
    for (const tensor_entry& e : net.tensors()) {
      if (!e.is_state) continue;
      const bool variance = e.info.role == "running_var";
      for (std::size_t i = 0; i < e.info.count(); ++i)
        state[e.offset + i] = variance ? 0.5 + g.uniform() : 0.5 * g.normal();
    }
    state = rounded(state);
    upload(net.state(), state);
    set_input(ref::random_vector(static_cast<std::size_t>(n) * in.size(), seed + 3));
  }
  void set_input(const ref::vec& v) {
    x = rounded(v);
    upload(net.input(), x);
  }
  ref::vec forward() {
    const T* z = net.forward(n);
    return ref::vec(z, z + static_cast<std::size_t>(n) * outputs);
  }
  // Input gradient for d loss / d logits = dy; parameter gradients land in grads(). The input
  // gradient buffer starts as NaN: a part that adds to it instead of overwriting it shows.
  ref::vec backward(const ref::vec& dy) {
    const std::vector<T> d = ref::cast<T>(dy);
    std::vector<T> dx(static_cast<std::size_t>(n) * in.size(), std::numeric_limits<T>::quiet_NaN());
    net.backward(d.data(), n, dx.data());
    return ref::vec(dx.begin(), dx.end());
  }
  ref::vec grads() const {
    const auto g = net.download_grads();
    return ref::vec(g.begin(), g.end());
  }
  ref::vec current_state() const {
    const auto s = net.download_state();
    return ref::vec(s.begin(), s.end());
  }
  // The i-th parameter (or state) tensor of the model, in describe() order, out of a flat buffer.
  const tensor_entry& entry(std::size_t i, bool is_state = false) const {
    std::size_t k = 0;
    for (const tensor_entry& e : net.tensors())
      if (e.is_state == is_state && k++ == i) return e;
    throw std::out_of_range("probe: no such tensor");
  }
  ref::vec slice(const ref::vec& flat, std::size_t i, bool is_state = false) const {
    const tensor_entry& e = entry(i, is_state);
    return ref::vec(flat.begin() + static_cast<std::ptrdiff_t>(e.offset),
                    flat.begin() + static_cast<std::ptrdiff_t>(e.offset + e.info.count()));
  }
  ref::vec param(std::size_t i) const { return slice(params, i); }
};

}  // namespace cnnzoo::testing
