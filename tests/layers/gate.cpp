// The broadcast spatial multiply y = x * s[n, 1, h, w] and the combinators built on the two
// broadcast multiplies: gate<Body> (a scale per pixel or per channel computed from x) and
// twin_pool<Body> (one Body on the average- and the max-pooled vector, summed). Ops against their
// definition, layers against naive loops in double, gradients by finite differences.
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

// A spatial gate: a 1x1 conv to one channel (bias), sigmoid.
using spatial_body = seq<conv<conv_args{.out = 1, .kernel = 1, .bias = true}>, sigmoid>;
// A channel gate: GAP, dense to the channels, sigmoid (an SE without the bottleneck).
template <int C>
using channel_body = seq<global_avg_pool, dense<C>, sigmoid>;
// One shared dense layer on both pooled vectors.
template <int Out>
using twin_dense = twin_pool<seq<dense<Out>, relu, dense<Out>>>;

using spatial_model = testing::as_model<gate<spatial_body>, shape{3, 4, 5}>;
using channel_model = testing::as_model<gate<channel_body<4>>, shape{4, 3, 3}>;
using twin_model = testing::as_model<twin_dense<3>, shape{4, 3, 2}>;
using nested_model = testing::as_model<gate<seq<twin_dense<5>, sigmoid>>, shape{5, 2, 3}>;
}  // namespace

static_assert(bind_t<gate<spatial_body>, shape{3, 4, 5}>::per_pixel);
static_assert(bind_t<gate<channel_body<4>>, shape{4, 3, 3}>::per_channel);
static_assert(bind_t<twin_dense<3>, shape{4, 3, 2}>::out == shape{3, 1, 1});
// One set of weights for both pools.
static_assert(trainable_params<twin_model> == (4 * 3 + 3) + (3 * 3 + 3));

TEST_CASE("scale_spatial ops: forward and backward by definition", "[layers][attention]") {
  const int n = 2, c = 3, hw = 5;
  exec::eigen<double> p;
  rng g(2);
  std::vector<double> x(n * c * hw), s(n * hw), dy(n * c * hw), y(n * c * hw), dx(n * c * hw), ds(n * hw);
  for (double& v : x) v = g.normal();
  for (double& v : s) v = g.normal();
  for (double& v : dy) v = g.normal();
  p.scale_spatial_forward(n, c, hw, x.data(), s.data(), y.data());
  p.scale_spatial_backward(n, c, hw, x.data(), s.data(), dy.data(), dx.data(), ds.data(), false);
  for (int i = 0; i < n; ++i)
    for (int q = 0; q < hw; ++q) {
      double dot = 0;
      for (int ch = 0; ch < c; ++ch) {
        const int k = (i * c + ch) * hw + q;
        CHECK(y[k] == x[k] * s[i * hw + q]);
        CHECK(dx[k] == dy[k] * s[i * hw + q]);
        dot += dy[k] * x[k];
      }
      CHECK(ds[i * hw + q] == Approx(dot).epsilon(1e-14));
    }
  std::vector<double> acc(n * c * hw, 1.0), ds2(n * hw, -1.0);
  p.scale_spatial_backward(n, c, hw, x.data(), s.data(), dy.data(), acc.data(), nullptr, true);
  for (int k = 0; k < n * c * hw; ++k) CHECK(acc[k] == 1.0 + dy[k] * s[(k / (c * hw)) * hw + k % hw]);
  p.scale_spatial_backward(n, c, hw, x.data(), s.data(), dy.data(), nullptr, ds2.data(), false);
  CHECK(ds2 == ds);
}

TEST_CASE("gate<Body> scales by a per-pixel or per-channel map computed from x", "[layers][attention]") {
  rng g(12);
  SECTION("per pixel") {
    constexpr shape in{3, 4, 5};
    using net_t = network<spatial_model, exec::eigen<double>>;
    const int n = 2, hw = in.h * in.w;
    net_t net(n, 1);
    for (std::size_t i = 0; i < net_t::param_count(); ++i) net.params()[i] = g.normal();
    for (std::size_t i = 0; i < n * in.size(); ++i) net.input()[i] = g.normal();
    const double* z = net.forward(n);
    const double *w = net.params(), *b = w + in.c, *x = net.input();
    for (int i = 0; i < n; ++i)
      for (int q = 0; q < hw; ++q) {
        double a = b[0];
        for (int ch = 0; ch < in.c; ++ch) a += w[ch] * x[(i * in.c + ch) * hw + q];
        for (int ch = 0; ch < in.c; ++ch) {
          const int k = (i * in.c + ch) * hw + q;
          CHECK(z[k] == Approx(x[k] * sigm(a)).epsilon(1e-13));
        }
      }
  }
  SECTION("per channel") {
    constexpr shape in{4, 3, 3};
    using net_t = network<channel_model, exec::eigen<double>>;
    const int n = 2, hw = in.h * in.w, c = in.c;
    net_t net(n, 1);
    for (std::size_t i = 0; i < net_t::param_count(); ++i) net.params()[i] = g.normal();
    for (std::size_t i = 0; i < n * in.size(); ++i) net.input()[i] = g.normal();
    const double* z = net.forward(n);
    const double *w = net.params(), *b = w + c * c, *x = net.input();
    for (int i = 0; i < n; ++i) {
      std::vector<double> pooled(c);
      for (int ch = 0; ch < c; ++ch)
        for (int q = 0; q < hw; ++q) pooled[ch] += x[(i * c + ch) * hw + q] / hw;
      for (int o = 0; o < c; ++o) {
        double a = b[o];
        for (int ch = 0; ch < c; ++ch) a += w[o * c + ch] * pooled[ch];
        for (int q = 0; q < hw; ++q) {
          const int k = (i * c + o) * hw + q;
          CHECK(z[k] == Approx(x[k] * sigm(a)).epsilon(1e-13));
        }
      }
    }
  }
}

TEST_CASE("twin_pool<Body> sums one Body on the average and the max pool", "[layers][attention]") {
  constexpr shape in{4, 3, 2};
  using net_t = network<twin_model, exec::eigen<double>>;
  const int n = 3, hw = in.h * in.w, c = in.c, h = 3;
  net_t net(n, 1);
  rng g(13);
  for (std::size_t i = 0; i < net_t::param_count(); ++i) net.params()[i] = g.normal();
  for (std::size_t i = 0; i < n * in.size(); ++i) net.input()[i] = g.normal();
  const double* z = net.forward(n);
  const double* w1 = net.params();
  const double *b1 = w1 + h * c, *w2 = b1 + h, *b2 = w2 + h * h, *x = net.input();
  auto mlp = [&](const std::vector<double>& v) {
    std::vector<double> hid(h), out(h);
    for (int k = 0; k < h; ++k) {
      double a = b1[k];
      for (int ch = 0; ch < c; ++ch) a += w1[k * c + ch] * v[ch];
      hid[k] = std::max(a, 0.0);
    }
    for (int o = 0; o < h; ++o) {
      out[o] = b2[o];
      for (int k = 0; k < h; ++k) out[o] += w2[o * h + k] * hid[k];
    }
    return out;
  };
  for (int i = 0; i < n; ++i) {
    std::vector<double> avg(c), top(c, -1e300);
    for (int ch = 0; ch < c; ++ch)
      for (int q = 0; q < hw; ++q) {
        avg[ch] += x[(i * c + ch) * hw + q] / hw;
        top[ch] = std::max(top[ch], x[(i * c + ch) * hw + q]);
      }
    const auto a = mlp(avg), m = mlp(top);
    for (int o = 0; o < h; ++o) CHECK(z[i * h + o] == Approx(a[o] + m[o]).epsilon(1e-13));
  }
}

TEST_CASE("gate and twin_pool gradients match finite differences", "[layers][attention][gradcheck]") {
  CNNZOO_CHECK_GRADIENTS(spatial_model, {.batch = 2});
  CNNZOO_CHECK_GRADIENTS(channel_model, {.batch = 2});
  CNNZOO_CHECK_GRADIENTS(twin_model, {.batch = 3});
  CNNZOO_CHECK_GRADIENTS(nested_model, {.batch = 2});
}
