// SE-ResNet50: exact counts, a CPU pass of the full network, gradients and SGD steps on a small
// instance of the same template (ResNet50's body with squeeze_excite on every branch).
#include <catch2/catch.hpp>

#include <cnnzoo/models/senet.hpp>

#include "support/gradcheck.hpp"
#include "support/model_checks.hpp"

using namespace cnnzoo;

static_assert(trainable_params<models::se_resnet50> == 26'054'794);
static_assert(keras_total<models::se_resnet50> == 26'100'362);
// The SE blocks add 2 c^2 / 16 per unit to ResNet50 and nothing else.
static_assert(trainable_params<models::se_resnet50> - trainable_params<models::resnet50> ==
              3 * 2 * 256 * 16 + 4 * 2 * 512 * 32 + 6 * 2 * 1024 * 64 + 3 * 2 * 2048 * 128);
static_assert(state_values<models::se_resnet50> == state_values<models::resnet50>);

namespace {
// Base width 4 (outputs 16, 32: SE hidden widths 1, 2), two stages on 8x8.
struct small_se_resnet : models::preact_bottleneck_resnet<4, models::stage_depths<1, 2>, squeeze_excite<se_args{}>> {
  static constexpr shape input{3, 8, 8};
};
}  // namespace

TEST_CASE("SE-ResNet50: forward and backward at batch 2 on the CPU", "[models][senet]") {
  testing::check_forward_backward<models::se_resnet50>();
}

TEST_CASE("SE-ResNet gradients match finite differences", "[models][senet][gradcheck]") {
  // (Seed 1 puts a ReLU input within the finite-difference step of its kink: the mismatch there
  // shrinks with the step, so it is the probe, not the gradient.)
  CNNZOO_CHECK_GRADIENTS(small_se_resnet, {.batch = 2, .seed = 2});
  CNNZOO_CHECK_GRADIENTS(small_se_resnet, {.batch = 2, .training = false});
}

TEST_CASE("SE-ResNet: SGD steps on one batch lower its loss", "[models][senet]") {
  testing::check_sgd_lowers_loss<small_se_resnet>();
}
