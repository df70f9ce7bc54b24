// softmax over channels, over the channels of each group (the seed's SKNet), and over the groups
// (the paper's SKNet): forward against a naive loop in double, backward against its definition,
// and gradients by finite differences.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include <cnnzoo/cnnzoo.hpp>
#include <cnnzoo/exec/eigen.hpp>
#include <cnnzoo/layers/softmax.hpp>

#include "support/gradcheck.hpp"

using namespace cnnzoo;
using ops::softmax_over;

namespace {
// Index of element (i, group, ch, p) of an (n, groups * c, hw) NCHW tensor.
int at(int i, int gr, int ch, int p, int groups, int c, int hw) { return ((i * groups + gr) * c + ch) * hw + p; }

std::vector<double> naive(const ops::softmax_geometry& g, const std::vector<double>& x) {
  std::vector<double> y(x.size());
  for (int i = 0; i < g.n; ++i)
    for (int p = 0; p < g.hw; ++p) {
      if (g.over == softmax_over::channels) {
        for (int gr = 0; gr < g.groups; ++gr) {
          double sum = 0;
          for (int ch = 0; ch < g.c; ++ch) sum += std::exp(x[at(i, gr, ch, p, g.groups, g.c, g.hw)]);
          for (int ch = 0; ch < g.c; ++ch) {
            const int k = at(i, gr, ch, p, g.groups, g.c, g.hw);
            y[k] = std::exp(x[k]) / sum;
          }
        }
      } else {
        for (int ch = 0; ch < g.c; ++ch) {
          double sum = 0;
          for (int gr = 0; gr < g.groups; ++gr) sum += std::exp(x[at(i, gr, ch, p, g.groups, g.c, g.hw)]);
          for (int gr = 0; gr < g.groups; ++gr) {
            const int k = at(i, gr, ch, p, g.groups, g.c, g.hw);
            y[k] = std::exp(x[k]) / sum;
          }
        }
      }
    }
  return y;
}

template <softmax_args A, shape In>
void check_layer(int n) {
  using M = testing::as_model<softmax<A>, In>;
  network<M, exec::eigen<double>> net(n, 1);
  rng g(4);
  std::vector<double> x(static_cast<std::size_t>(n) * In.size());
  for (double& v : x) v = 3 * g.normal();
  std::copy(x.begin(), x.end(), net.input());
  const double* z = net.forward(n);
  const auto want = naive({n, A.groups, In.c / A.groups, In.h * In.w, A.over}, x);
  for (std::size_t i = 0; i < x.size(); ++i) CHECK(z[i] == Approx(want[i]).epsilon(1e-13));
}

using plain = testing::as_model<softmax<>, shape{5, 2, 3}>;
using per_branch = testing::as_model<softmax<softmax_args{.groups = 2}>, shape{6, 1, 1}>;
using across_branches =
    testing::as_model<softmax<softmax_args{.groups = 2, .over = softmax_over::groups}>, shape{6, 1, 1}>;
using across_three = testing::as_model<softmax<softmax_args{.groups = 3, .over = softmax_over::groups}>, shape{6, 2, 2}>;
}  // namespace

TEST_CASE("softmax op: naive values, rows sum to one, backward is y * (dy - <dy, y>)", "[layers][softmax]") {
  exec::eigen<double> p;
  rng g(6);
  for (softmax_over over : {softmax_over::channels, softmax_over::groups}) {
    const ops::softmax_geometry geo{2, 3, 4, 5, over};
    const std::size_t count = 2 * 3 * 4 * 5;
    std::vector<double> x(count), y(count), dy(count), dx(count), shifted(count), ys(count);
    for (double& v : x) v = 4 * g.normal();
    for (double& v : dy) v = g.normal();
    p.softmax_forward(geo, x.data(), y.data());
    const auto want = naive(geo, x);
    for (std::size_t k = 0; k < count; ++k) CHECK(y[k] == Approx(want[k]).epsilon(1e-13));
    // Large logits do not overflow: softmax is invariant to a shift.
    for (std::size_t k = 0; k < count; ++k) shifted[k] = x[k] + 900.0;
    p.softmax_forward(geo, shifted.data(), ys.data());
    for (std::size_t k = 0; k < count; ++k) CHECK(ys[k] == Approx(y[k]).epsilon(1e-10));
    p.softmax_backward(geo, y.data(), dy.data(), dx.data());
    const int outer = over == softmax_over::channels ? geo.groups : geo.c;
    const int axis = over == softmax_over::channels ? geo.c : geo.groups;
    for (int i = 0; i < geo.n; ++i)
      for (int q = 0; q < geo.hw; ++q)
        for (int o = 0; o < outer; ++o) {
          auto idx = [&](int a) {
            return over == softmax_over::channels ? at(i, o, a, q, geo.groups, geo.c, geo.hw)
                                                  : at(i, a, o, q, geo.groups, geo.c, geo.hw);
          };
          double sum = 0, dot = 0;
          for (int a = 0; a < axis; ++a) { sum += y[idx(a)]; dot += dy[idx(a)] * y[idx(a)]; }
          CHECK(sum == Approx(1.0).epsilon(1e-14));
          for (int a = 0; a < axis; ++a) CHECK(dx[idx(a)] == Approx(y[idx(a)] * (dy[idx(a)] - dot)).margin(1e-15));
        }
  }
}

TEST_CASE("softmax layers match a naive softmax", "[layers][softmax]") {
  check_layer<softmax_args{}, shape{5, 2, 3}>(2);
  check_layer<softmax_args{.groups = 2}, shape{6, 1, 1}>(3);
  check_layer<softmax_args{.groups = 2, .over = softmax_over::groups}, shape{6, 1, 1}>(3);
  check_layer<softmax_args{.groups = 3, .over = softmax_over::groups}, shape{6, 2, 2}>(2);
}

TEST_CASE("the two SKNet softmaxes differ: per branch over channels vs per channel over branches",
          "[layers][softmax]") {
  exec::eigen<double> p;
  const std::vector<double> x{0.0, 1.0, 2.0, 3.0};   // two branches of two channels
  std::vector<double> seed(4), paper(4);
  p.softmax_forward({1, 2, 2, 1, softmax_over::channels}, x.data(), seed.data());
  p.softmax_forward({1, 2, 2, 1, softmax_over::groups}, x.data(), paper.data());
  CHECK(seed[0] + seed[1] == Approx(1.0));     // branch 0's channels
  CHECK(seed[2] + seed[3] == Approx(1.0));
  CHECK(paper[0] + paper[2] == Approx(1.0));   // channel 0's branches
  CHECK(paper[1] + paper[3] == Approx(1.0));
  CHECK(paper[0] == Approx(1.0 / (1.0 + std::exp(2.0))));
}

TEST_CASE("softmax gradients match finite differences", "[layers][softmax][gradcheck]") {
  CNNZOO_CHECK_GRADIENTS(plain, {.batch = 2});
  CNNZOO_CHECK_GRADIENTS(per_branch, {.batch = 3});
  CNNZOO_CHECK_GRADIENTS(across_branches, {.batch = 3});
  CNNZOO_CHECK_GRADIENTS(across_three, {.batch = 2});
}
