// StochasticDepth (ResNet50 with a drop-path gate ending every branch): exact counts, the
// survival schedule, a CPU pass of the full network, inference scaling the branches by their
// survival exactly, training drawing per-sample coins, gradients and SGD steps on a small
// instance of the same template.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <set>
#include <type_traits>
#include <vector>

#include <cnnzoo/models/stochastic_depth.hpp>

#include "support/gradcheck.hpp"
#include "support/model_checks.hpp"

using namespace cnnzoo;
using models::bottleneck_args;

static_assert(trainable_params<models::stochastic_depth_resnet50> == 23'539'850);
static_assert(keras_total<models::stochastic_depth_resnet50> == 23'585'418);
static_assert(trainable_params<models::stochastic_depth_resnet50> == trainable_params<models::resnet50>);

// p = 1 - 0.5 d / 48 for d = 3 i: 1 for the first unit, 0.53125 for the sixteenth.
static_assert(models::linear_survival(0, 16, 0.5) == 1.0);
static_assert(models::linear_survival(1, 16, 0.5) == 1.0 - 0.5 * 3 / 48);
static_assert(models::linear_survival(15, 16, 0.5) == 0.53125);
using resnet50_family = models::stochastic_depth_family<64, 16, 0.5>;
static_assert(std::is_same_v<resnet50_family::unit<3, 1, 15>,
                             models::preact_bottleneck<models::at_stage(bottleneck_args{.width = 64, .out = 256}, 3, 1),
                                                       drop_path<drop_path_args{.survival = 0.53125}>>>);
static_assert(std::is_same_v<resnet50_family::unit<1, 2, 3>,
                             models::preact_bottleneck<models::at_stage(bottleneck_args{.width = 64, .out = 256}, 1, 2),
                                                       drop_path<drop_path_args{.survival = 1.0 - 0.5 * 9 / 48}>>>);

namespace {
// Two units (survival 1 and 0.75) at base width 2 on 8x8, and the same network without gates.
struct small_sd : models::stochastic_depth_resnet<2, models::stage_depths<1, 1>> {
  static constexpr shape input{3, 8, 8};
};
struct small_plain : models::preact_bottleneck_resnet<2, models::stage_depths<1, 1>> {
  static constexpr shape input{3, 8, 8};
};
static_assert(trainable_params<small_sd> == trainable_params<small_plain>);

template <class Net>
std::vector<double> logits(Net& net, const std::vector<double>& x, int n, std::uint64_t seed) {
  std::copy(x.begin(), x.end(), net.input());
  net.generator().reseed(seed);
  const double* z = net.forward(n);
  return {z, z + n * 10};
}
double max_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double d = 0;
  for (std::size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return d;
}
}  // namespace

TEST_CASE("StochasticDepth: forward and backward at batch 2 on the CPU", "[models][stochastic_depth]") {
  testing::check_forward_backward<models::stochastic_depth_resnet50>();
}

TEST_CASE("StochasticDepth: inference scales each branch by its survival; training drops whole samples' branches",
          "[models][stochastic_depth]") {
  const int n = 4;
  network<small_sd, exec::eigen<double>> sd(n, 3);
  network<small_plain, exec::eigen<double>> plain(n, 3);
  rng g(5);
  for (std::size_t i = 0; i < sd.param_count(); ++i) sd.params()[i] += 0.1 * g.normal();
  std::copy_n(sd.params(), sd.param_count(), plain.params());
  std::vector<double> x(n * 3 * 8 * 8);
  for (double& v : x) v = g.normal();

  // Gates switched off at run time: the plain network, in both modes.
  sd.options().drop_path = 0.0f;
  for (bool training : {true, false}) {
    sd.set_training(training);
    plain.set_training(training);
    CHECK(max_diff(logits(sd, x, n, 1), logits(plain, x, n, 1)) < 1e-12);
  }

  // Inference: the second unit's branch is scaled by 0.75, which scaling its last convolution's
  // weights and bias (the branch's last affine map) reproduces in the plain network.
  sd.options().drop_path = -1.0f;
  sd.set_training(false);
  plain.set_training(false);
  std::vector<const tensor_entry*> convs;
  for (const auto& e : plain.tensors())
    if (!e.is_state && e.info.rank == 4) convs.push_back(&e);
  REQUIRE(convs.size() == 9);   // stem; unit 0: 1x1, 3x3, 1x1, projection; unit 1: the same
  const tensor_entry& last = *convs[7];
  const std::size_t bias_at = last.offset + last.info.count();
  CHECK(max_diff(logits(sd, x, n, 1), logits(plain, x, n, 1)) > 1e-6);
  for (std::size_t i = last.offset; i < bias_at + last.info.dims[0]; ++i) plain.params()[i] *= 0.75;
  CHECK(max_diff(logits(sd, x, n, 1), logits(plain, x, n, 1)) < 1e-12);
  CHECK(max_diff(logits(sd, x, n, 1), logits(sd, x, n, 99)) == 0.0);   // no coins in inference

  // Training: coins per sample and step. Over a few steps, each sample's branch is kept at some
  // and dropped at others, and samples of one step differ in what they drew.
  sd.set_training(true);
  std::set<std::vector<double>> seen;
  for (std::uint64_t s = 0; s < 24; ++s) seen.insert(logits(sd, x, n, s));
  CHECK(seen.size() > 2);
  sd.options().drop_path = 0.0f;
  seen.clear();
  for (std::uint64_t s = 0; s < 6; ++s) seen.insert(logits(sd, x, n, s));
  CHECK(seen.size() == 1);
}

TEST_CASE("StochasticDepth gradients match finite differences", "[models][stochastic_depth][gradcheck]") {
  CNNZOO_CHECK_GRADIENTS(small_sd, {.batch = 3});   // the coins fixed by the generator's seed
  CNNZOO_CHECK_GRADIENTS(small_sd, {.batch = 2, .training = false});
}

TEST_CASE("StochasticDepth: SGD steps on one batch lower its loss", "[models][stochastic_depth]") {
  testing::check_sgd_lowers_loss<small_sd>();
}
