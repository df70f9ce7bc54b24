// ShuffleNetV2: exact counts, CPU passes, gradients of a small instance of the same template,
// and a few SGD steps.
#include <catch2/catch.hpp>

#include <cnnzoo/models/shufflenet.hpp>

#include "support/gradcheck.hpp"
#include "support/model_checks.hpp"

using namespace cnnzoo;

static_assert(trainable_params<models::shufflenet_v2> == 1'261'806);
static_assert(keras_total<models::shufflenet_v2> == 1'275'938);
// The paper's side branch (no ReLU after its depthwise conv) has no parameters of its own.
static_assert(trainable_params<models::shufflenet_v2_paper> == 1'261'806);
static_assert(keras_total<models::shufflenet_v2_paper> == 1'275'938);
static_assert(output_shape<models::shufflenet_v2> == shape{10, 1, 1});

namespace {
// Three stages (stride-2 and stride-1 units, split, shuffle) at 4-12 channels on 16x16 inputs.
struct tiny_shufflenet : models::shufflenet<models::shufflenet_args{
                             .stem = 4, .widths = {8, 12, 16}, .depths = {2, 2, 1}, .head = 12}> {
  static constexpr shape input{3, 16, 16};
};
struct tiny_shufflenet_paper : models::shufflenet<models::shufflenet_args{
                                   .stem = 4, .widths = {8, 12, 16}, .depths = {2, 1, 1}, .head = 12,
                                   .side_relu = false}> {
  static constexpr shape input{3, 16, 16};
};
}  // namespace

TEST_CASE("ShuffleNetV2: forward and backward at batch 2 on the CPU", "[models][shufflenet]") {
  testing::check_forward_backward<models::shufflenet_v2>();
}

TEST_CASE("ShuffleNetV2 gradients match finite differences", "[models][shufflenet][gradcheck]") {
  CNNZOO_CHECK_GRADIENTS(tiny_shufflenet, {.batch = 3});
  CNNZOO_CHECK_GRADIENTS(tiny_shufflenet, {.batch = 2, .training = false});
  CNNZOO_CHECK_GRADIENTS(tiny_shufflenet_paper, {.batch = 2});
}

TEST_CASE("ShuffleNetV2: SGD steps on one batch lower its loss", "[models][shufflenet]") {
  testing::check_sgd_lowers_loss<models::shufflenet_v2>();
}
