// squeeze_excite and the broadcast channel multiply under it: forward against a naive loop in
// double for the zoo's variants, the policy op's backward against its definition, and gradients
// by finite differences.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include <cnnzoo/cnnzoo.hpp>
#include <cnnzoo/exec/eigen.hpp>
#include <cnnzoo/layers/squeeze_excite.hpp>

#include "support/gradcheck.hpp"

using namespace cnnzoo;
using ops::activation;

namespace {

double act(activation a, double x) {
  const double hs = std::clamp(x + 3.0, 0.0, 6.0) / 6.0, s = 1.0 / (1.0 + std::exp(-x));
  switch (a) {
    case activation::identity: return x;
    case activation::relu: return std::max(x, 0.0);
    case activation::relu6: return std::clamp(x, 0.0, 6.0);
    case activation::sigmoid: return s;
    case activation::hard_sigmoid: return hs;
    case activation::swish: return x * s;
    case activation::hard_swish: return x * hs;
  }
  return x;
}

template <se_args A, shape In>
void check_against_naive(int n) {
  using M = testing::as_model<squeeze_excite<A>, In>;
  using net_t = network<M, exec::eigen<double>>;
  constexpr int c = In.c, hw = In.h * In.w, hidden = A.hidden ? A.hidden : In.c / A.reduction;
  STATIC_REQUIRE(net_t::param_count() == std::size_t(2 * c * hidden + (A.bias ? c + hidden : 0)));
  net_t net(n, 2);
  net.set_training(true);   // no mode-dependent part: training and inference agree
  rng g(5);
  for (std::size_t i = 0; i < net_t::param_count(); ++i) net.params()[i] = g.normal();
  for (std::size_t i = 0; i < n * In.size(); ++i) net.input()[i] = g.normal();
  const double* z = net.forward(n);
  const double* w1 = net.params();
  const double* b1 = A.bias ? w1 + hidden * c : nullptr;
  const double* w2 = w1 + hidden * c + (A.bias ? hidden : 0);
  const double* b2 = A.bias ? w2 + c * hidden : nullptr;
  const double* x = net.input();
  double worst = 0;
  for (int i = 0; i < n; ++i) {
    std::vector<double> pooled(c), h(hidden), s(c);
    for (int ch = 0; ch < c; ++ch) {
      for (int p = 0; p < hw; ++p) pooled[ch] += x[(i * c + ch) * hw + p];
      pooled[ch] /= hw;
    }
    for (int k = 0; k < hidden; ++k) {
      double a = b1 ? b1[k] : 0.0;
      for (int ch = 0; ch < c; ++ch) a += w1[k * c + ch] * pooled[ch];
      h[k] = act(A.act, a);
    }
    for (int ch = 0; ch < c; ++ch) {
      double a = b2 ? b2[ch] : 0.0;
      for (int k = 0; k < hidden; ++k) a += w2[ch * hidden + k] * h[k];
      s[ch] = act(A.gate, a);
    }
    for (int ch = 0; ch < c; ++ch)
      for (int p = 0; p < hw; ++p) {
        const int at = (i * c + ch) * hw + p;
        worst = std::max(worst, std::abs(z[at] - x[at] * s[ch]));
      }
  }
  CHECK(worst < 1e-12);
}

constexpr se_args se_resnet{};
constexpr se_args se_wide{.bias = true, .act = activation::swish};
constexpr se_args se_mobile{.reduction = 4, .act = activation::relu6, .gate = activation::hard_sigmoid};
constexpr se_args se_efficient{.hidden = 3, .bias = true, .act = activation::swish};

}  // namespace

// SE-ResNet50's first SE: 256 channels, r = 16, no biases.
static_assert(trainable_params<testing::as_model<squeeze_excite<se_resnet>, shape{256, 4, 4}>> == 2 * 256 * 16);
// EfficientNet's explicit hidden width with biases.
static_assert(trainable_params<testing::as_model<squeeze_excite<se_efficient>, shape{96, 2, 2}>> ==
              2 * 96 * 3 + 96 + 3);
static_assert(bind_t<squeeze_excite<se_mobile>, shape{120, 8, 8}>::hidden == 30);

TEST_CASE("scale_channels multiplies each plane by its channel's scalar, forward and backward", "[layers][se]") {
  const int n = 2, c = 3, hw = 5;
  exec::eigen<double> p;
  rng g(9);
  std::vector<double> x(n * c * hw), s(n * c), dy(n * c * hw), y(n * c * hw), dx(n * c * hw), ds(n * c);
  for (double& v : x) v = g.normal();
  for (double& v : s) v = g.normal();
  for (double& v : dy) v = g.normal();
  p.scale_channels_forward(n, c, hw, x.data(), s.data(), y.data());
  p.scale_channels_backward(n, c, hw, x.data(), s.data(), dy.data(), dx.data(), ds.data(), false);
  for (int i = 0; i < n * c; ++i) {
    double dot = 0;
    for (int k = 0; k < hw; ++k) {
      CHECK(y[i * hw + k] == x[i * hw + k] * s[i]);
      CHECK(dx[i * hw + k] == dy[i * hw + k] * s[i]);
      dot += dy[i * hw + k] * x[i * hw + k];
    }
    CHECK(ds[i] == Approx(dot).epsilon(1e-14));
  }
  // accumulate adds dy * s to dx; a null ds or dx is skipped.
  std::vector<double> acc(n * c * hw, 1.0);
  p.scale_channels_backward(n, c, hw, x.data(), s.data(), dy.data(), acc.data(), nullptr, true);
  for (int i = 0; i < n * c * hw; ++i) CHECK(acc[i] == 1.0 + dy[i] * s[i / hw]);
  std::vector<double> ds2(n * c, -1.0);
  p.scale_channels_backward(n, c, hw, x.data(), s.data(), dy.data(), nullptr, ds2.data(), false);
  CHECK(ds2 == ds);
}

TEST_CASE("squeeze_excite matches a naive pool-dense-act-dense-gate-multiply", "[layers][se]") {
  check_against_naive<se_resnet, shape{32, 3, 3}>(2);
  check_against_naive<se_wide, shape{16, 4, 2}>(3);
  check_against_naive<se_mobile, shape{8, 3, 3}>(2);
  check_against_naive<se_efficient, shape{12, 2, 2}>(2);
}

TEST_CASE("squeeze_excite gradients match finite differences", "[layers][se][gradcheck]") {
  using resnet_se = testing::as_model<squeeze_excite<se_resnet>, shape{32, 3, 3}>;
  using wide_se = testing::as_model<squeeze_excite<se_wide>, shape{16, 3, 2}>;
  using mobile_se = testing::as_model<squeeze_excite<se_mobile>, shape{8, 3, 3}>;
  using efficient_se = testing::as_model<squeeze_excite<se_efficient>, shape{12, 2, 2}>;
  CNNZOO_CHECK_GRADIENTS(resnet_se, {.batch = 2});
  CNNZOO_CHECK_GRADIENTS(wide_se, {.batch = 2});
  CNNZOO_CHECK_GRADIENTS(mobile_se, {.batch = 2});
  CNNZOO_CHECK_GRADIENTS(efficient_se, {.batch = 3});
}
