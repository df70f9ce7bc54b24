// ResNet18 and ResNet50 (pre-activation): exact counts, CPU passes, gradients of a small
// instance of the same templates, and a few SGD steps.
#include <catch2/catch.hpp>

#include <cnnzoo/models/resnet.hpp>

#include "support/gradcheck.hpp"
#include "support/model_checks.hpp"

using namespace cnnzoo;

static_assert(trainable_params<models::resnet18> == 11'177'098);
static_assert(keras_total<models::resnet18> == 11'185'034);
static_assert(trainable_params<models::resnet50> == 23'539'850);
static_assert(keras_total<models::resnet50> == 23'585'418);
static_assert(output_shape<models::resnet18> == shape{10, 1, 1});

namespace {
// The same templates at 4 base channels on 8x8 inputs: every unit type, stride and projection.
struct tiny_resnet : models::pre_act_resnet<models::preact_basic_unit, 4, 1, 2> {
  static constexpr shape input{3, 8, 8};
};
struct tiny_bottleneck : models::pre_act_resnet<models::preact_bottleneck_unit, 2, 1, 1> {
  static constexpr shape input{3, 8, 8};
};
}  // namespace

TEST_CASE("ResNet18: forward and backward at batch 2 on the CPU", "[models][resnet]") {
  testing::check_forward_backward<models::resnet18>();
}

TEST_CASE("ResNet50: forward and backward at batch 2 on the CPU", "[models][resnet]") {
  testing::check_forward_backward<models::resnet50>();
}

TEST_CASE("pre-activation ResNet gradients match finite differences", "[models][resnet][gradcheck]") {
  CNNZOO_CHECK_GRADIENTS(tiny_resnet, {.batch = 3});
  CNNZOO_CHECK_GRADIENTS(tiny_bottleneck, {.batch = 2});
  CNNZOO_CHECK_GRADIENTS(tiny_resnet, {.batch = 2, .training = false});
}

TEST_CASE("ResNet18: SGD steps on one batch lower its loss", "[models][resnet]") {
  testing::check_sgd_lowers_loss<models::resnet18>();
}
