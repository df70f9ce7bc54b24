// CBAM-ResNet50: exact counts, a CPU pass of the full network, gradients and SGD steps on a
// small instance of the same template (ResNet50's body with a cbam on every branch).
#include <catch2/catch.hpp>

#include <cnnzoo/models/cbam.hpp>

#include "support/gradcheck.hpp"
#include "support/model_checks.hpp"

using namespace cnnzoo;

static_assert(trainable_params<models::cbam_resnet50> == 26'072'426);
static_assert(keras_total<models::cbam_resnet50> == 26'117'994);
static_assert(state_values<models::cbam_resnet50> == state_values<models::resnet50>);

namespace {
// Base width 4 (outputs 16, 32: MLP hidden widths 1, 2; the 7x7 conv on 8x8 and 4x4 maps).
struct small_cbam : models::cbam_resnet<cbam_args{}, 4, models::stage_depths<1, 1>> {
  static constexpr shape input{3, 8, 8};
};
}  // namespace

TEST_CASE("CBAM-ResNet50: forward and backward at batch 2 on the CPU", "[models][cbam]") {
  testing::check_forward_backward<models::cbam_resnet50>();
}

TEST_CASE("CBAM-ResNet gradients match finite differences", "[models][cbam][gradcheck]") {
  CNNZOO_CHECK_GRADIENTS(small_cbam, {.batch = 2});
  CNNZOO_CHECK_GRADIENTS(small_cbam, {.batch = 2, .training = false});
}

TEST_CASE("CBAM-ResNet: SGD steps on one batch lower its loss", "[models][cbam]") {
  testing::check_sgd_lowers_loss<small_cbam>();
}
