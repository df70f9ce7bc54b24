// separable_conv: counts, forward against a naive depthwise + pointwise loop in double, and
// gradients by finite differences.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include <cnnzoo/cnnzoo.hpp>
#include <cnnzoo/exec/eigen.hpp>
#include <cnnzoo/layers/separable.hpp>

#include "support/gradcheck.hpp"

using namespace cnnzoo;

namespace {

template <int Out, int K, int S, shape In>
void check_against_naive(int n) {
  using M = testing::as_model<separable_conv<Out, K, S>, In>;
  using net_t = network<M, exec::eigen<double>>;
  net_t net(n, 3);
  net.set_training(false);
  rng g(42);
  for (std::size_t i = 0; i < net_t::param_count(); ++i) net.params()[i] = g.normal();
  const std::size_t in_count = static_cast<std::size_t>(n) * In.size();
  for (std::size_t i = 0; i < in_count; ++i) net.input()[i] = g.normal();
  const double* z = net.forward(n);

  const double* dw = net.params();                     // [c][1][K][K]
  const double* pw = dw + In.c * K * K;                // [Out][c]
  const double* pb = pw + Out * In.c;                  // [Out]
  const int pad = (K - 1) / 2, oh = (In.h + 2 * pad - K) / S + 1, ow = (In.w + 2 * pad - K) / S + 1;
  const double* x = net.input();
  std::vector<double> mid(static_cast<std::size_t>(In.c * oh * ow));
  double worst = 0;
  for (int i = 0; i < n; ++i) {
    for (int c = 0; c < In.c; ++c)
      for (int oy = 0; oy < oh; ++oy)
        for (int ox = 0; ox < ow; ++ox) {
          double acc = 0;
          for (int r = 0; r < K; ++r)
            for (int s = 0; s < K; ++s) {
              const int iy = oy * S - pad + r, ix = ox * S - pad + s;
              if (iy < 0 || iy >= In.h || ix < 0 || ix >= In.w) continue;
              acc += x[((i * In.c + c) * In.h + iy) * In.w + ix] * dw[(c * K + r) * K + s];
            }
          mid[static_cast<std::size_t>((c * oh + oy) * ow + ox)] = acc;
        }
    for (int o = 0; o < Out; ++o)
      for (int p = 0; p < oh * ow; ++p) {
        double acc = pb[o];
        for (int c = 0; c < In.c; ++c) acc += pw[o * In.c + c] * mid[static_cast<std::size_t>(c * oh * ow + p)];
        worst = std::max(worst, std::abs(acc - z[(i * Out + o) * oh * ow + p]));
      }
  }
  CHECK(worst < 1e-10);
}

}  // namespace

// Keras' SeparableConv2D count: c k^2 depthwise weights, c * out pointwise weights, out biases.
static_assert(trainable_params<testing::as_model<separable_conv<182>, shape{64, 32, 32}>> ==
              64 * 9 + 64 * 182 + 182);
static_assert(output_shape<testing::as_model<separable_conv<8, 3, 2>, shape{4, 7, 7}>> == shape{8 * 4 * 4, 1, 1});

TEST_CASE("separable_conv matches a naive depthwise + pointwise convolution", "[layers][separable]") {
  check_against_naive<5, 3, 1, shape{3, 6, 5}>(2);
  check_against_naive<4, 3, 2, shape{4, 7, 7}>(3);
  check_against_naive<6, 5, 1, shape{2, 6, 6}>(1);
}

TEST_CASE("separable_conv gradients match finite differences", "[layers][separable][gradcheck]") {
  using plain = testing::as_model<separable_conv<5, 3, 1>, shape{3, 6, 5}>;
  using strided = testing::as_model<separable_conv<4, 3, 2>, shape{4, 7, 7}>;
  CNNZOO_CHECK_GRADIENTS(plain, {.batch = 2});
  CNNZOO_CHECK_GRADIENTS(strided, {.batch = 2});
}
