// The pointwise activations on the Eigen policy against their definitions (value and
// derivative, float and double, over every piece of the piecewise ones), as layers inside a
// network, and their gradients against finite differences.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "support/gradcheck.hpp"
#include "support/reference.hpp"

using namespace cnnzoo;
namespace ref = cnnzoo::testing::ref;

namespace {

struct act_case {
  const char* name;
  ops::activation op;
  ref::act def;
};

const act_case cases[] = {
    {"relu", ops::activation::relu, ref::act::relu},
    {"relu6", ops::activation::relu6, ref::act::relu6},
    {"sigmoid", ops::activation::sigmoid, ref::act::sigmoid},
    {"hard_sigmoid", ops::activation::hard_sigmoid, ref::act::hard_sigmoid},
    {"swish", ops::activation::swish, ref::act::swish},
    {"hard_swish", ops::activation::hard_swish, ref::act::hard_swish},
};

// Values spread over [-10, 10], so every piece (x < -3, -3..0, 0..3, 3..6, x > 6) is hit many
// times, and kept away from the kinks, where the derivative is a convention.
ref::vec spread_inputs(std::size_t count, std::uint64_t seed) {
  rng g(seed);
  ref::vec x(count);
  for (double& v : x) {
    do v = g.uniform(-10, 10);
    while (std::abs(v) < 1e-3 || std::abs(std::abs(v) - 3) < 1e-3 || std::abs(v - 6) < 1e-3);
  }
  return x;
}

template <class T>
void check_op(const act_case& a) {
  const std::size_t count = 3 * 5 * 7 * 4;
  const std::vector<T> x = ref::cast<T>(spread_inputs(count, 1)), dy = ref::cast<T>(ref::random_vector(count, 2));
  const ref::vec xd(x.begin(), x.end()), dyd(dy.begin(), dy.end());
  const double tol = sizeof(T) == 8 ? 1e-14 : 1e-6;
  exec::eigen<T> pol;
  std::vector<T> y(count, std::numeric_limits<T>::quiet_NaN()), dx(count, std::numeric_limits<T>::quiet_NaN());
  pol.activation_forward(a.op, count, x.data(), y.data());
  CNNZOO_CHECK_CLOSE(y.data(), ref::activation(a.def, xd), tol, tol);
  pol.activation_backward(a.op, count, x.data(), y.data(), dy.data(), dx.data());
  CNNZOO_CHECK_CLOSE(dx.data(), ref::activation_backward(a.def, xd, dyd), tol, tol);

  // In place (y over x), as a fused kernel might run it: same values.
  std::vector<T> inplace = x;
  pol.activation_forward(a.op, count, inplace.data(), inplace.data());
  CHECK(inplace == y);
}

}  // namespace

// A few definitional values, independent of the reference helper.
TEST_CASE("activations: values at landmarks", "[layers][activation]") {
  exec::eigen<double> pol;
  const std::vector<double> x{-7, -3, -1.5, 0, 1.5, 3, 6, 8};
  auto run = [&](ops::activation a) {
    std::vector<double> y(x.size());
    pol.activation_forward(a, x.size(), x.data(), y.data());
    return y;
  };
  using A = ops::activation;
  CHECK(run(A::relu) == std::vector<double>{0, 0, 0, 0, 1.5, 3, 6, 8});
  CHECK(run(A::relu6) == std::vector<double>{0, 0, 0, 0, 1.5, 3, 6, 6});
  const auto hs = run(A::hard_sigmoid);   // relu6(x + 3) / 6, MobileNetV3's form
  CHECK(hs[0] == 0);
  CHECK(hs[1] == 0);
  CHECK(hs[2] == Approx(0.25));
  CHECK(hs[3] == Approx(0.5));
  CHECK(hs[5] == 1);
  CHECK(hs[7] == 1);
  const auto hw = run(A::hard_swish);
  CHECK(hw[0] == 0);
  CHECK(hw[2] == Approx(-1.5 * 0.25));
  CHECK(hw[6] == 6);
  const auto s = run(A::sigmoid);
  CHECK(s[3] == 0.5);
  CHECK(s[4] + s[2] == Approx(1.0));
  const auto sw = run(A::swish);
  CHECK(sw[3] == 0);
  CHECK(sw[4] == Approx(1.5 / (1 + std::exp(-1.5))));
}

TEST_CASE("activations: extreme inputs stay finite", "[layers][activation]") {
  exec::eigen<float> pol;
  const std::vector<float> x{-1e4f, -200.f, -90.f, 90.f, 200.f, 1e4f};
  for (const act_case& a : cases) {
    std::vector<float> y(x.size()), dx(x.size()), dy(x.size(), 1.0f);
    pol.activation_forward(a.op, x.size(), x.data(), y.data());
    pol.activation_backward(a.op, x.size(), x.data(), y.data(), dy.data(), dx.data());
    for (std::size_t i = 0; i < x.size(); ++i) {
      INFO(a.name << " at " << x[i]);
      CHECK(std::isfinite(y[i]));
      CHECK(std::isfinite(dx[i]));
    }
  }
}

TEST_CASE("activation ops match their definitions", "[layers][activation]") {
  for (const act_case& a : cases) {
    DYNAMIC_SECTION(a.name << " double") { check_op<double>(a); }
    DYNAMIC_SECTION(a.name << " float") { check_op<float>(a); }
  }
}

namespace {

template <class L, class T>
void check_layer(ref::act def) {
  using M = testing::as_model<L, shape{3, 5, 7}>;
  testing::probe<M, T> pr(2, 5, true);
  pr.set_input(spread_inputs(2 * 3 * 5 * 7, 6));
  const double tol = sizeof(T) == 8 ? 1e-14 : 1e-6;
  const ref::vec y = pr.forward();
  CNNZOO_CHECK_CLOSE(y.data(), ref::activation(def, pr.x), tol, tol);
  const ref::vec dy = pr.rounded(ref::random_vector(y.size(), 7));
  const ref::vec dx = pr.backward(dy);
  CNNZOO_CHECK_CLOSE(dx.data(), ref::activation_backward(def, pr.x, dy), tol, tol);
}

template <class T>
void check_layers() {
  check_layer<relu, T>(ref::act::relu);
  check_layer<relu6, T>(ref::act::relu6);
  check_layer<sigmoid, T>(ref::act::sigmoid);
  check_layer<hard_sigmoid, T>(ref::act::hard_sigmoid);
  check_layer<swish, T>(ref::act::swish);
  check_layer<hard_swish, T>(ref::act::hard_swish);
}

TEST_CASE("activation layers inside a network match their definitions", "[layers][activation]") {
  SECTION("double") { check_layers<double>(); }
  SECTION("float") { check_layers<float>(); }
}

// The gradient checks draw inputs from N(0, 1); a 3x3 conv in front (scaled up by its random
// weights) spreads them over the pieces of relu6, hard_sigmoid and hard_swish as well.
template <class Act>
using spread = testing::as_model<seq<conv<conv_args{.out = 3, .kernel = 3, .bias = true}>, Act>, shape{2, 5, 5}>;
template <class Act>
using alone = testing::as_model<Act, shape{3, 5, 7}>;

}  // namespace

TEST_CASE("activation layer gradients match finite differences", "[layers][activation][gradcheck]") {
  CNNZOO_CHECK_GRADIENTS(alone<relu>, {});
  CNNZOO_CHECK_GRADIENTS(alone<relu6>, {});
  CNNZOO_CHECK_GRADIENTS(alone<sigmoid>, {});
  CNNZOO_CHECK_GRADIENTS(alone<hard_sigmoid>, {});
  CNNZOO_CHECK_GRADIENTS(alone<swish>, {});
  CNNZOO_CHECK_GRADIENTS(alone<hard_swish>, {});
  CNNZOO_CHECK_GRADIENTS(spread<relu6>, {.param_noise = 2.0});
  CNNZOO_CHECK_GRADIENTS(spread<hard_sigmoid>, {.param_noise = 2.0});
  CNNZOO_CHECK_GRADIENTS(spread<hard_swish>, {.param_noise = 2.0});
}
