// CBAM (channel attention, then spatial attention) against a naive loop in double, its parameter
// count, and gradients by finite differences.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include <cnnzoo/cnnzoo.hpp>
#include <cnnzoo/exec/eigen.hpp>
#include <cnnzoo/layers/attention.hpp>

#include "support/gradcheck.hpp"

using namespace cnnzoo;

namespace {
double sigm(double v) { return 1.0 / (1.0 + std::exp(-v)); }

// Woo et al.'s module written out: x1 = x * sigmoid(mlp(avg x) + mlp(max x)) per channel;
// y = x1 * sigmoid(conv_k([mean_c x1, max_c x1]) + b) per pixel ("same" padding).
std::vector<double> naive_cbam(int n, shape in, int hidden, int k, const double* params, const double* x) {
  const int c = in.c, H = in.h, W = in.w, hw = H * W, pad = k / 2;
  const double* w1 = params;
  const double* b1 = w1 + hidden * c;
  const double* w2 = b1 + hidden;
  const double* b2 = w2 + c * hidden;
  const double* wc = b2 + c;            // [1][2][k][k]
  const double bc = wc[2 * k * k];
  std::vector<double> y(static_cast<std::size_t>(n) * in.size());
  auto mlp = [&](const std::vector<double>& v) {
    std::vector<double> hid(hidden), out(c);
    for (int j = 0; j < hidden; ++j) {
      double a = b1[j];
      for (int ch = 0; ch < c; ++ch) a += w1[j * c + ch] * v[ch];
      hid[j] = std::max(a, 0.0);
    }
    for (int o = 0; o < c; ++o) {
      out[o] = b2[o];
      for (int j = 0; j < hidden; ++j) out[o] += w2[o * hidden + j] * hid[j];
    }
    return out;
  };
  for (int i = 0; i < n; ++i) {
    const double* xi = x + static_cast<std::size_t>(i) * in.size();
    std::vector<double> avg(c), top(c, -1e300);
    for (int ch = 0; ch < c; ++ch)
      for (int p = 0; p < hw; ++p) {
        avg[ch] += xi[ch * hw + p] / hw;
        top[ch] = std::max(top[ch], xi[ch * hw + p]);
      }
    const auto a = mlp(avg), m = mlp(top);
    std::vector<double> x1(in.size()), stats(2 * hw);
    for (int ch = 0; ch < c; ++ch)
      for (int p = 0; p < hw; ++p) x1[ch * hw + p] = xi[ch * hw + p] * sigm(a[ch] + m[ch]);
    for (int p = 0; p < hw; ++p) {
      double sum = 0, best = -1e300;
      for (int ch = 0; ch < c; ++ch) { sum += x1[ch * hw + p]; best = std::max(best, x1[ch * hw + p]); }
      stats[p] = sum / c;
      stats[hw + p] = best;
    }
    for (int r = 0; r < H; ++r)
      for (int s = 0; s < W; ++s) {
        double acc = bc;
        for (int m2 = 0; m2 < 2; ++m2)
          for (int u = 0; u < k; ++u)
            for (int v = 0; v < k; ++v) {
              const int rr = r - pad + u, ss = s - pad + v;
              if (rr < 0 || rr >= H || ss < 0 || ss >= W) continue;
              acc += wc[(m2 * k + u) * k + v] * stats[m2 * hw + rr * W + ss];
            }
        for (int ch = 0; ch < c; ++ch)
          y[static_cast<std::size_t>(i) * in.size() + ch * hw + r * W + s] = x1[ch * hw + r * W + s] * sigm(acc);
      }
  }
  return y;
}

template <cbam_args A, shape In>
void check_against_naive(int n) {
  using M = testing::as_model<cbam<A>, In>;
  using net_t = network<M, exec::eigen<double>>;
  constexpr int hidden = In.c / A.reduction;
  STATIC_REQUIRE(net_t::param_count() == std::size_t(2 * In.c * hidden + hidden + In.c + 2 * A.kernel * A.kernel + 1));
  net_t net(n, 3);
  rng g(21);
  for (std::size_t i = 0; i < net_t::param_count(); ++i) net.params()[i] = 0.5 * g.normal();
  for (std::size_t i = 0; i < n * In.size(); ++i) net.input()[i] = g.normal();
  for (bool training : {true, false}) {   // no mode-dependent part: both agree
    net.set_training(training);
    const double* z = net.forward(n);
    const auto want = naive_cbam(n, In, hidden, A.kernel, net.params(), net.input());
    double worst = 0;
    for (std::size_t i = 0; i < want.size(); ++i) worst = std::max(worst, std::abs(z[i] - want[i]));
    CHECK(worst < 1e-12);
  }
}

using small_cbam = testing::as_model<cbam<cbam_args{.reduction = 2, .kernel = 3}>, shape{6, 4, 5}>;
using seed_cbam = testing::as_model<cbam<>, shape{32, 4, 4}>;
}  // namespace

// CBAM-ResNet50's module on a 256-channel branch: MLP 256 -> 16 -> 256 with biases, 7x7 conv 2 -> 1.
static_assert(trainable_params<testing::as_model<cbam<>, shape{256, 32, 32}>> ==
              (256 * 16 + 16) + (16 * 256 + 256) + (2 * 7 * 7 + 1));
static_assert(bind_t<cbam<>, shape{2048, 4, 4}>::out == shape{2048, 4, 4});

TEST_CASE("cbam matches the naive module", "[layers][attention][cbam]") {
  check_against_naive<cbam_args{.reduction = 2, .kernel = 3}, shape{6, 4, 5}>(2);
  check_against_naive<cbam_args{}, shape{32, 4, 4}>(2);    // the seed's r = 16, 7x7 on a 4x4 map
  check_against_naive<cbam_args{.reduction = 4}, shape{8, 9, 7}>(3);
}

TEST_CASE("cbam gradients match finite differences", "[layers][attention][cbam][gradcheck]") {
  CNNZOO_CHECK_GRADIENTS(small_cbam, {.batch = 2});
  CNNZOO_CHECK_GRADIENTS(seed_cbam, {.batch = 2, .max_param_samples = 200});
}
