// drop_path: the exact training masks (one keyed coin per sample), the inference scaling of both
// variants, the run-time rate, and gradients by finite differences in both modes.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include <cnnzoo/cnnzoo.hpp>
#include <cnnzoo/exec/eigen.hpp>
#include <cnnzoo/layers/drop_path.hpp>

#include "support/gradcheck.hpp"

using namespace cnnzoo;

namespace {

constexpr shape in{3, 2, 2};
constexpr std::uint64_t gen_seed = 1234;

struct result {
  std::vector<double> x, y, dx;
  std::uint64_t key = 0;    // the mask key this pass used
};

// Forward and backward (with dy = 1) of drop_path<A> on n samples.
template <drop_path_args A>
result run(int n, bool training, float rate = -1.0f) {
  using M = testing::as_model<drop_path<A>, in>;
  network<M, exec::eigen<double>> net(n, 1);
  net.set_training(training);
  net.options().drop_path = rate;
  rng g(8);
  result r;
  r.x.resize(n * in.size());
  for (double& v : r.x) v = g.normal();
  std::copy(r.x.begin(), r.x.end(), net.input());
  net.generator().reseed(gen_seed);
  const double* z = net.forward(n);
  r.y.assign(z, z + n * in.size());
  std::vector<double> ones(n * in.size(), 1.0);
  r.dx.resize(n * in.size());
  net.backward(ones.data(), n, r.dx.data());
  // network::forward draws the step seed from its generator; the gate is the first part, so its
  // offset from the arena's start is 0 (pass::key).
  const std::uint64_t step_seed = rng(gen_seed)();
  r.key = step_seed ^ 0x9E3779B97F4A7C15ull;
  return r;
}

// Every value of sample i equals x * factor(i), and so does its gradient (dy = 1).
template <class F>
void check_per_sample(const result& r, int n, F factor) {
  for (int i = 0; i < n; ++i)
    for (std::size_t k = 0; k < in.size(); ++k) {
      const std::size_t at = i * in.size() + k;
      REQUIRE(r.y[at] == Approx(r.x[at] * factor(i)).epsilon(1e-15).margin(1e-300));
      REQUIRE(r.dx[at] == Approx(factor(i)).epsilon(1e-15).margin(1e-300));
    }
}

}  // namespace

static_assert(trainable_params<testing::as_model<drop_path<drop_path_args{.survival = 0.5}>, in>> == 0);

TEST_CASE("drop_path in training keeps or drops whole samples by keyed coins", "[layers][drop_path]") {
  const int n = 64;
  SECTION("stochastic depth: kept branches are not rescaled") {
    const auto r = run<drop_path_args{.survival = 0.5}>(n, true);
    int kept = 0;
    for (int i = 0; i < n; ++i) kept += hash_uniform(r.key, static_cast<std::uint64_t>(i)) >= 0.5f;
    check_per_sample(r, n, [&](int i) { return hash_uniform(r.key, static_cast<std::uint64_t>(i)) >= 0.5f ? 1.0 : 0.0; });
    CHECK(kept > 0);
    CHECK(kept < n);
  }
  SECTION("drop-connect: kept branches are divided by the survival probability") {
    const auto r = run<drop_path_args{.survival = 0.75, .rescale = true}>(n, true);
    check_per_sample(r, n, [&](int i) {
      return hash_uniform(r.key, static_cast<std::uint64_t>(i)) >= 0.25f ? 1.0 / (1.0 - double(0.25f)) : 0.0;
    });
  }
  SECTION("survival 1 keeps everything") {
    const auto r = run<drop_path_args{.survival = 1.0}>(n, true);
    check_per_sample(r, n, [](int) { return 1.0; });
  }
}

TEST_CASE("drop_path in inference scales by the survival probability or passes through", "[layers][drop_path]") {
  const int n = 5;
  check_per_sample(run<drop_path_args{.survival = 0.6}>(n, false), n, [](int) { return 0.6; });
  check_per_sample(run<drop_path_args{.survival = 0.6, .rescale = true}>(n, false), n, [](int) { return 1.0; });
}

TEST_CASE("run_options::drop_path multiplies every gate's drop probability", "[layers][drop_path]") {
  const int n = 64;
  // 0 switches the gates off in both modes.
  check_per_sample(run<drop_path_args{.survival = 0.5}>(n, true, 0.0f), n, [](int) { return 1.0; });
  check_per_sample(run<drop_path_args{.survival = 0.5}>(n, false, 0.0f), n, [](int) { return 1.0; });
  // 2 doubles it: survival 0.75 becomes 0.5, in training and inference.
  const auto r = run<drop_path_args{.survival = 0.75}>(n, true, 2.0f);
  check_per_sample(r, n, [&](int i) { return hash_uniform(r.key, static_cast<std::uint64_t>(i)) >= 0.5f ? 1.0 : 0.0; });
  check_per_sample(run<drop_path_args{.survival = 0.75}>(n, false, 2.0f), n, [](int) { return 0.5; });
  const auto rescaled = run<drop_path_args{.survival = 0.75, .rescale = true}>(n, true, 2.0f);
  check_per_sample(rescaled, n, [&](int i) {
    return hash_uniform(rescaled.key, static_cast<std::uint64_t>(i)) >= 0.5f ? 2.0 : 0.0;
  });
  // Clamped: a drop probability above 1 drops every sample.
  check_per_sample(run<drop_path_args{.survival = 0.5}>(n, true, 3.0f), n, [](int) { return 0.0; });
}

TEST_CASE("drop_path keeps about a survival fraction of samples", "[layers][drop_path]") {
  const int n = 4000;
  const auto r = run<drop_path_args{.survival = 0.7}>(n, true);
  int kept = 0;
  for (int i = 0; i < n; ++i) kept += r.y[i * in.size()] == r.x[i * in.size()];
  CHECK(std::abs(kept / double(n) - 0.7) < 0.03);
}

TEST_CASE("drop_path gradients match finite differences", "[layers][drop_path][gradcheck]") {
  using gate = testing::as_model<drop_path<drop_path_args{.survival = 0.5}>, shape{2, 3, 3}>;
  using connect = testing::as_model<drop_path<drop_path_args{.survival = 0.6, .rescale = true}>, shape{2, 3, 3}>;
  CNNZOO_CHECK_GRADIENTS(gate, {.batch = 6});
  CNNZOO_CHECK_GRADIENTS(gate, {.batch = 3, .training = false});
  CNNZOO_CHECK_GRADIENTS(connect, {.batch = 6});
  CNNZOO_CHECK_GRADIENTS(connect, {.batch = 3, .training = false});
}
