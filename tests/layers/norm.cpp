// Batch normalisation on the Eigen policy against the reference: batch statistics, the running
// averages (momentum, unbiased variance), inference with running statistics, and gradients in
// both modes, on 4-D (n, c, h, w) and flat (n, c, 1, 1) activations, in double and float.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "support/gradcheck.hpp"
#include "support/reference.hpp"

using namespace cnnzoo;
namespace ref = cnnzoo::testing::ref;

namespace {

struct bn_case {
  const char* name;
  int n, c, hw;
  double eps, momentum, mean_offset;
};

const bn_case cases[] = {
    {"4-D 3x4x(5x7), PyTorch defaults", 3, 4, 35, 1e-5, 0.1, 0.0},
    {"4-D 2x3x(7x9), Keras eps and momentum", 2, 3, 63, 1e-3, 0.01, 0.0},
    {"2-D 5x6 (c, 1, 1)", 5, 6, 1, 1e-5, 0.1, 0.0},
    {"2-D 2x3, the smallest batch", 2, 3, 1, 1e-5, 0.5, 0.0},
    {"4-D with a large mean (cancellation)", 4, 2, 9, 1e-5, 0.1, 50.0},
};

ref::vec positive(std::size_t count, std::uint64_t seed) {
  rng g(seed);
  ref::vec v(count);
  for (double& d : v) d = 0.5 + g.uniform();
  return v;
}

template <class T>
std::vector<T> rounded_t(const ref::vec& v) { return ref::cast<T>(v); }
template <class T>
ref::vec as_double(const std::vector<T>& v) { return ref::vec(v.begin(), v.end()); }

template <class T>
void check_case(const bn_case& t) {
  const std::size_t count = static_cast<std::size_t>(t.n) * t.c * t.hw, c = static_cast<std::size_t>(t.c);
  ref::vec x = ref::random_vector(count, 1, 2.0);
  for (double& v : x) v += t.mean_offset;
  const auto xt = rounded_t<T>(x), gamma = rounded_t<T>(ref::random_vector(c, 2)),
             beta = rounded_t<T>(ref::random_vector(c, 3)), rm0 = rounded_t<T>(ref::random_vector(c, 4)),
             rv0 = rounded_t<T>(positive(c, 5)), dyt = rounded_t<T>(ref::random_vector(count, 6));
  const ref::vec xd = as_double(xt), gd = as_double(gamma), bd = as_double(beta), dyd = as_double(dyt);
  const ops::batch_norm_geometry g{t.n, t.c, t.hw, t.eps, t.momentum};
  const double tol = sizeof(T) == 8 ? 1e-11 : (t.mean_offset != 0 ? 5e-4 : 1e-4);
  const T nan = std::numeric_limits<T>::quiet_NaN();
  exec::eigen<T> pol;

  SECTION("training: batch statistics and the running averages") {
    ref::vec rm = as_double(rm0), rv = as_double(rv0);
    const ref::batch_norm_result r = ref::batch_norm_train(t.n, t.c, t.hw, xd, gd, bd, t.eps, t.momentum, rm, rv);
    std::vector<T> y(count, nan), mean(c, nan), invstd(c, nan), run_m = rm0, run_v = rv0;
    pol.batch_norm_forward(g, true, xt.data(), gamma.data(), beta.data(), run_m.data(), run_v.data(), mean.data(),
                           invstd.data(), y.data());
    CNNZOO_CHECK_CLOSE(y.data(), r.y, tol, tol);
    CNNZOO_CHECK_CLOSE(mean.data(), r.mean, tol, tol);
    ref::vec inv(c);
    for (std::size_t i = 0; i < c; ++i) inv[i] = 1 / std::sqrt(r.var[i] + t.eps);
    CNNZOO_CHECK_CLOSE(invstd.data(), inv, tol, tol);
    CNNZOO_CHECK_CLOSE(run_m.data(), rm, tol, tol);
    CNNZOO_CHECK_CLOSE(run_v.data(), rv, tol, tol);

    // The normalised output has zero mean and (biased) unit variance per channel before gamma, beta.
    for (int ch = 0; ch < t.c; ++ch) {
      double s = 0, sq = 0;
      for (int i = 0; i < t.n; ++i)
        for (int j = 0; j < t.hw; ++j) {
          const double z = (r.y[(static_cast<std::size_t>(i) * c + ch) * t.hw + j] - bd[ch]) / gd[ch];
          s += z;
          sq += z * z;
        }
      const double m = static_cast<double>(t.n) * t.hw;
      CHECK(std::abs(s / m) < 1e-9);
      CHECK(sq / m == Approx(r.var[ch] / (r.var[ch] + t.eps)).epsilon(1e-9));
    }

    const ref::batch_norm_grads gr = ref::batch_norm_train_backward(t.n, t.c, t.hw, xd, gd, t.eps, dyd);
    std::vector<T> dx(count, nan), dgamma(c, nan), dbeta(c, nan);
    pol.batch_norm_backward(g, true, xt.data(), gamma.data(), mean.data(), invstd.data(), dyt.data(), dx.data(),
                            dgamma.data(), dbeta.data());
    CNNZOO_CHECK_CLOSE(dx.data(), gr.dx, tol, tol);
    CNNZOO_CHECK_CLOSE(dgamma.data(), gr.dgamma, tol, tol);
    CNNZOO_CHECK_CLOSE(dbeta.data(), gr.dbeta, tol, tol);
    // Without dx (a first layer) the parameter gradients are the same.
    std::vector<T> dgamma2(c, nan), dbeta2(c, nan);
    pol.batch_norm_backward(g, true, xt.data(), gamma.data(), mean.data(), invstd.data(), dyt.data(), nullptr,
                            dgamma2.data(), dbeta2.data());
    CNNZOO_CHECK_CLOSE(dgamma2.data(), gr.dgamma, tol, tol);
    CNNZOO_CHECK_CLOSE(dbeta2.data(), gr.dbeta, tol, tol);
  }

  SECTION("inference: running statistics normalise and do not move") {
    const ref::vec rm = as_double(rm0), rv = as_double(rv0);
    const ref::vec y_ref = ref::batch_norm_infer(t.n, t.c, t.hw, xd, gd, bd, t.eps, rm, rv);
    std::vector<T> y(count, nan), mean(c, nan), invstd(c, nan), run_m = rm0, run_v = rv0;
    pol.batch_norm_forward(g, false, xt.data(), gamma.data(), beta.data(), run_m.data(), run_v.data(), mean.data(),
                           invstd.data(), y.data());
    CNNZOO_CHECK_CLOSE(y.data(), y_ref, tol, tol);
    CHECK(run_m == rm0);
    CHECK(run_v == rv0);

    const ref::batch_norm_grads gr = ref::batch_norm_infer_backward(t.n, t.c, t.hw, xd, gd, t.eps, rm, rv, dyd);
    std::vector<T> dx(count, nan), dgamma(c, nan), dbeta(c, nan);
    pol.batch_norm_backward(g, false, xt.data(), gamma.data(), mean.data(), invstd.data(), dyt.data(), dx.data(),
                            dgamma.data(), dbeta.data());
    CNNZOO_CHECK_CLOSE(dx.data(), gr.dx, tol, tol);
    CNNZOO_CHECK_CLOSE(dgamma.data(), gr.dgamma, tol, tol);
    CNNZOO_CHECK_CLOSE(dbeta.data(), gr.dbeta, tol, tol);
  }
}

// The layer inside a network: its parameter and state layout (gamma, beta; running mean, var),
// its hyperparameters reaching the policy, and the mode switch.
template <batch_norm_args A, shape In, class T>
void check_layer(bool training) {
  using M = testing::as_model<batch_norm_t<A>, In>;
  const int n = 3, c = In.c, hw = In.h * In.w;
  testing::probe<M, T> pr(n, 11, training);
  const ref::vec gamma = pr.param(0), beta = pr.param(1);
  ref::vec rm = pr.slice(pr.state, 0, true), rv = pr.slice(pr.state, 1, true);
  const double tol = sizeof(T) == 8 ? 1e-11 : 1e-4;

  const ref::vec y = pr.forward();
  const ref::vec dy = pr.rounded(ref::random_vector(y.size(), 12));
  const ref::vec dx = pr.backward(dy);
  const ref::vec grads = pr.grads(), state = pr.current_state();
  if (training) {
    const ref::batch_norm_result r = ref::batch_norm_train(n, c, hw, pr.x, gamma, beta, A.eps, A.momentum, rm, rv);
    CNNZOO_CHECK_CLOSE(y.data(), r.y, tol, tol);
    CNNZOO_CHECK_CLOSE(pr.slice(state, 0, true).data(), rm, tol, tol);
    CNNZOO_CHECK_CLOSE(pr.slice(state, 1, true).data(), rv, tol, tol);
    const ref::batch_norm_grads gr = ref::batch_norm_train_backward(n, c, hw, pr.x, gamma, A.eps, dy);
    CNNZOO_CHECK_CLOSE(dx.data(), gr.dx, tol, tol);
    CNNZOO_CHECK_CLOSE(pr.slice(grads, 0).data(), gr.dgamma, tol, tol);
    CNNZOO_CHECK_CLOSE(pr.slice(grads, 1).data(), gr.dbeta, tol, tol);
  } else {
    CNNZOO_CHECK_CLOSE(y.data(), ref::batch_norm_infer(n, c, hw, pr.x, gamma, beta, A.eps, rm, rv), tol, tol);
    CNNZOO_CHECK_CLOSE(state.data(), pr.state, 0.0, 0.0);
    const ref::batch_norm_grads gr = ref::batch_norm_infer_backward(n, c, hw, pr.x, gamma, A.eps, rm, rv, dy);
    CNNZOO_CHECK_CLOSE(dx.data(), gr.dx, tol, tol);
    CNNZOO_CHECK_CLOSE(pr.slice(grads, 0).data(), gr.dgamma, tol, tol);
    CNNZOO_CHECK_CLOSE(pr.slice(grads, 1).data(), gr.dbeta, tol, tol);
  }
}

template <class T>
void check_layers(bool training) {
  check_layer<batch_norm_args{}, shape{4, 5, 7}, T>(training);
  check_layer<batch_norm_args{.eps = 1e-3, .momentum = 0.01}, shape{3, 3, 3}, T>(training);
  check_layer<batch_norm_args{}, shape{6, 1, 1}, T>(training);
  check_layer<batch_norm_args{.eps = 1e-3, .momentum = 0.99}, shape{5, 1, 1}, T>(training);
}

using bn4 = testing::as_model<batch_norm, shape{3, 5, 7}>;
using bn2 = testing::as_model<batch_norm, shape{6, 1, 1}>;
using bn_keras = testing::as_model<batch_norm_t<batch_norm_args{.eps = 1e-3, .momentum = 0.01}>, shape{2, 3, 3}>;

}  // namespace

static_assert(trainable_params<bn4> == 6 && state_values<bn4> == 6 && keras_total<bn4> == 12);
static_assert(batch_norm_channels<bn2> == 6);

TEST_CASE("batch_norm op matches the reference in double", "[layers][norm]") {
  for (const bn_case& t : cases) {
    DYNAMIC_SECTION(t.name) { check_case<double>(t); }
  }
}

TEST_CASE("batch_norm op matches the reference in float", "[layers][norm]") {
  for (const bn_case& t : cases) {
    DYNAMIC_SECTION(t.name) { check_case<float>(t); }
  }
}

TEST_CASE("batch_norm layers inside a network match the reference", "[layers][norm]") {
  SECTION("double, training") { check_layers<double>(true); }
  SECTION("double, inference") { check_layers<double>(false); }
  SECTION("float, training") { check_layers<float>(true); }
  SECTION("float, inference") { check_layers<float>(false); }
}

TEST_CASE("batch_norm: repeated training passes converge the running averages to the batch's", "[layers][norm]") {
  // With a fixed batch, running = (1 - m)^k running_0 + (1 - (1 - m)^k) batch statistic.
  testing::probe<bn2, double> pr(4, 3, true);
  const ref::vec mean0 = pr.slice(pr.state, 0, true), var0 = pr.slice(pr.state, 1, true);
  ref::vec rm = mean0, rv = var0;
  const ref::batch_norm_result r = ref::batch_norm_train(4, 6, 1, pr.x, pr.param(0), pr.param(1), 1e-5, 0.1, rm, rv);
  for (int k = 0; k < 5; ++k) pr.forward();
  const ref::vec s = pr.current_state();
  const double decay = std::pow(0.9, 5);
  for (std::size_t ch = 0; ch < 6; ++ch) {
    CHECK(s[ch] == Approx(decay * mean0[ch] + (1 - decay) * r.mean[ch]).epsilon(1e-12));
    CHECK(s[6 + ch] == Approx(decay * var0[ch] + (1 - decay) * r.var[ch] * 4 / 3).epsilon(1e-12));
  }
}

TEST_CASE("batch_norm gradients match finite differences", "[layers][norm][gradcheck]") {
  CNNZOO_CHECK_GRADIENTS(bn4, {.batch = 2, .training = true});
  CNNZOO_CHECK_GRADIENTS(bn4, {.batch = 2, .training = false});
  CNNZOO_CHECK_GRADIENTS(bn2, {.batch = 4, .training = true});
  CNNZOO_CHECK_GRADIENTS(bn2, {.batch = 3, .training = false});
  CNNZOO_CHECK_GRADIENTS(bn_keras, {.batch = 3, .training = true});
  CNNZOO_CHECK_GRADIENTS(bn_keras, {.batch = 1, .training = false});
}
