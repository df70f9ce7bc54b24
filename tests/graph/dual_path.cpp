// dual_path: the output [t_res + y_res | t_dense | y_new] against a naive computation in double,
// with an identity and with a projection shortcut, and gradients by finite differences.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include <cnnzoo/cnnzoo.hpp>
#include <cnnzoo/exec/eigen.hpp>
#include <cnnzoo/graph/dual_path.hpp>

#include "support/gradcheck.hpp"

using namespace cnnzoo;

namespace {

// 1x1 convolutions with bias are easy to compute by hand: out[o, p] = b[o] + sum_c w[o, c] x[c, p].
std::vector<double> pointwise(const double* x, int n, int cin, int hw, const double* w, const double* b, int cout) {
  std::vector<double> y(static_cast<std::size_t>(n * cout * hw));
  for (int i = 0; i < n; ++i)
    for (int o = 0; o < cout; ++o)
      for (int p = 0; p < hw; ++p) {
        double acc = b[o];
        for (int c = 0; c < cin; ++c) acc += w[o * cin + c] * x[(i * cin + c) * hw + p];
        y[static_cast<std::size_t>((i * cout + o) * hw + p)] = acc;
      }
  return y;
}

constexpr int R = 3, K = 2;
template <int Out> using pw = conv<conv_args{.out = Out, .kernel = 1, .bias = true}>;

template <class Shortcut, int Cin, int KeptC>
void check_against_naive() {
  constexpr shape in{Cin, 3, 2};
  constexpr int hw = in.h * in.w, n = 2, body_c = R + K, out_c = KeptC + K;
  using M = testing::as_model<dual_path<pw<body_c>, Shortcut, R>, in>;
  using net_t = network<M, exec::eigen<double>>;
  STATIC_REQUIRE(net_t::classes == out_c * hw);
  net_t net(n, 1);
  rng g(4);
  for (std::size_t i = 0; i < net_t::param_count(); ++i) net.params()[i] = g.normal();
  for (std::size_t i = 0; i < n * in.size(); ++i) net.input()[i] = g.normal();
  const double* z = net.forward(n);
  const double* x = net.input();
  const double* w = net.params();
  const auto y = pointwise(x, n, Cin, hw, w, w + body_c * Cin, body_c);
  std::vector<double> t(x, x + n * in.size());
  if constexpr (!std::is_same_v<Shortcut, identity>) {
    const double* ws = w + body_c * Cin + body_c;
    t = pointwise(x, n, Cin, hw, ws, ws + KeptC * Cin, KeptC);
  }
  for (int i = 0; i < n; ++i)
    for (int c = 0; c < out_c; ++c)
      for (int p = 0; p < hw; ++p) {
        const double expect = c < R        ? t[(i * KeptC + c) * hw + p] + y[(i * body_c + c) * hw + p]
                              : c < KeptC ? t[(i * KeptC + c) * hw + p]
                                          : y[(i * body_c + R + c - KeptC) * hw + p];
        REQUIRE(z[(i * out_c + c) * hw + p] == Approx(expect).epsilon(1e-12));
      }
}

}  // namespace

static_assert(bind_t<dual_path<pw<5>, identity, 3>, shape{7, 4, 4}>::out == shape{9, 4, 4});
static_assert(bind_t<dual_path<pw<5>, pw<4>, 3>, shape{7, 4, 4}>::out == shape{6, 4, 4});

TEST_CASE("dual_path adds the residual parts and appends the new dense channels", "[graph][dual_path]") {
  check_against_naive<identity, 6, 6>();
  check_against_naive<pw<R + K>, 4, R + K>();
}

TEST_CASE("dual_path gradients match finite differences", "[graph][dual_path][gradcheck]") {
  using with_identity = testing::as_model<dual_path<pw<R + K>, identity, R>, shape{6, 3, 2}>;
  using with_projection = testing::as_model<dual_path<pw<R + K>, pw<R + K>, R>, shape{4, 3, 2}>;
  CNNZOO_CHECK_GRADIENTS(with_identity, {.batch = 2});
  CNNZOO_CHECK_GRADIENTS(with_projection, {.batch = 2});
}
