// channel_mean and channel_max, the statistics over the channels of every pixel (CBAM's spatial
// attention): the policy ops against their definition, the layers against a naive loop in
// double, and gradients by finite differences.
#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

#include <cnnzoo/cnnzoo.hpp>
#include <cnnzoo/exec/eigen.hpp>
#include <cnnzoo/layers/channel_pool.hpp>

#include "support/gradcheck.hpp"

using namespace cnnzoo;
using ops::pool_kind;

static_assert(bind_t<channel_mean, shape{7, 5, 3}>::out == shape{1, 5, 3});
static_assert(bind_t<concat<channel_mean, channel_max>, shape{7, 5, 3}>::out == shape{2, 5, 3});
static_assert(bind_t<channel_max, shape{7, 5, 3}>::size.params == 0);

namespace {
// Naive y[i, p] over the channels of x[i, :, p].
std::vector<double> naive(pool_kind k, int n, int c, int hw, const std::vector<double>& x) {
  std::vector<double> y(static_cast<std::size_t>(n * hw));
  for (int i = 0; i < n; ++i)
    for (int p = 0; p < hw; ++p) {
      double acc = k == pool_kind::max ? x[(i * c) * hw + p] : 0.0;
      for (int ch = 0; ch < c; ++ch) {
        const double v = x[(i * c + ch) * hw + p];
        acc = k == pool_kind::max ? std::max(acc, v) : acc + v;
      }
      y[i * hw + p] = k == pool_kind::max ? acc : acc / c;
    }
  return y;
}
}  // namespace

TEST_CASE("channel_pool ops: forward and backward by definition", "[layers][attention]") {
  const int n = 2, c = 5, hw = 6;
  exec::eigen<double> p;
  rng g(3);
  std::vector<double> x(n * c * hw), dy(n * hw), y(n * hw), dx(n * c * hw, 7.0);
  for (double& v : x) v = g.normal();
  for (double& v : dy) v = g.normal();
  for (pool_kind k : {pool_kind::avg, pool_kind::max}) {
    p.channel_pool_forward(k, n, c, hw, x.data(), y.data());
    const auto want = naive(k, n, c, hw, x);
    for (int i = 0; i < n * hw; ++i) CHECK(y[i] == Approx(want[i]).epsilon(1e-14));
    p.channel_pool_backward(k, n, c, hw, x.data(), dy.data(), dx.data());
    for (int i = 0; i < n; ++i)
      for (int q = 0; q < hw; ++q) {
        int arg = 0;
        for (int ch = 1; ch < c; ++ch)
          if (x[(i * c + ch) * hw + q] > x[(i * c + arg) * hw + q]) arg = ch;
        for (int ch = 0; ch < c; ++ch) {
          const double d = dx[(i * c + ch) * hw + q], g0 = dy[i * hw + q];
          if (k == pool_kind::avg) CHECK(d == Approx(g0 / c).epsilon(1e-14));
          else CHECK(d == (ch == arg ? g0 : 0.0));
        }
      }
  }
  // Ties send the gradient to the first maximal channel only.
  std::vector<double> flat(n * c * hw, 1.5), dflat(n * c * hw);
  p.channel_pool_backward(pool_kind::max, n, c, hw, flat.data(), dy.data(), dflat.data());
  for (int i = 0; i < n; ++i)
    for (int q = 0; q < hw; ++q) {
      CHECK(dflat[(i * c) * hw + q] == dy[i * hw + q]);
      for (int ch = 1; ch < c; ++ch) CHECK(dflat[(i * c + ch) * hw + q] == 0.0);
    }
}

TEST_CASE("concat<channel_mean, channel_max> matches the naive statistics", "[layers][attention]") {
  constexpr shape in{6, 3, 4};
  using M = testing::as_model<concat<channel_mean, channel_max>, in>;
  using net_t = network<M, exec::eigen<double>>;
  const int n = 3, hw = in.h * in.w;
  net_t net(n, 1);
  rng g(8);
  std::vector<double> x(n * in.size());
  for (double& v : x) v = g.normal();
  std::copy(x.begin(), x.end(), net.input());
  const double* z = net.forward(n);
  const auto mean = naive(pool_kind::avg, n, in.c, hw, x), top = naive(pool_kind::max, n, in.c, hw, x);
  for (int i = 0; i < n; ++i)
    for (int q = 0; q < hw; ++q) {
      CHECK(z[(i * 2) * hw + q] == Approx(mean[i * hw + q]).epsilon(1e-14));
      CHECK(z[(i * 2 + 1) * hw + q] == top[i * hw + q]);
    }
}

namespace {
using mean_model = testing::as_model<channel_mean, shape{5, 3, 4}>;
using max_model = testing::as_model<channel_max, shape{5, 3, 4}>;
using both_model = testing::as_model<concat<channel_mean, channel_max>, shape{4, 2, 3}>;
}  // namespace

TEST_CASE("channel_mean and channel_max gradients match finite differences", "[layers][attention][gradcheck]") {
  CNNZOO_CHECK_GRADIENTS(mean_model, {.batch = 2});
  CNNZOO_CHECK_GRADIENTS(max_model, {.batch = 2});
  CNNZOO_CHECK_GRADIENTS(both_model, {.batch = 2});
}
