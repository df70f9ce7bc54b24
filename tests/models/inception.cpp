// InceptionV1 to V4: exact counts, CPU passes, gradients of narrow instances built from the same
// module templates, and a few SGD steps.
#include <catch2/catch.hpp>

#include <cnnzoo/models/inception.hpp>

#include "support/gradcheck.hpp"
#include "support/model_checks.hpp"

using namespace cnnzoo;
using namespace cnnzoo::models;

static_assert(trainable_params<inception_v1> == 370'694);
static_assert(keras_total<inception_v1> == 374'222);
static_assert(trainable_params<inception_v2> == 642'162);
static_assert(keras_total<inception_v2> == 647'074);
static_assert(trainable_params<inception_v3> == 1'162'670);
static_assert(keras_total<inception_v3> == 1'171'142);
static_assert(trainable_params<inception_v4> == 2'552'458);
static_assert(keras_total<inception_v4> == 2'567'882);
static_assert(output_shape<inception_v4> == shape{10, 1, 1});

namespace {
// Each module template at two or three channels a branch, on inputs just large enough for the
// network's reductions (the 'valid' ones take 16 -> 7 -> 3).
struct tiny_v1 : inception_net<4, 0.4, inception_v1_block<2, 2, 3, 1, 2, 2>, inception_v1_pool,
                               inception_v1_block<2, 3, 2, 2, 1, 2>> {
  static constexpr shape input{3, 8, 8};
};
struct tiny_v2 : inception_net<4, 0.4, inception_v2_block<2, 2, 3, 2, 3, 2>, inception_reduction<2, 3, 2, 2, padding::same>,
                               inception_v2_block<2, 2, 2, 2, 3, 2, ops::pool_kind::max>> {
  static constexpr shape input{3, 8, 8};
};
struct tiny_v3 : inception_net<4, 0.4, inception_a_block<2, 2, 3, 2, 3, 2, 2>,
                               inception_reduction<2, 3, 2, 2, padding::valid>,
                               inception_factorized_block<3, 2, 2, 2, 3, 2, 2, 2, 2, 3, 2>,
                               inception_reduction<2, 2, 2, 2, padding::valid>, inception_v3_c_block<2, 2, 2, 2, 2, 2>> {
  static constexpr shape input{3, 16, 16};
};
struct tiny_v4 : inception_net<4, 0.2, inception_a_block<2, 2, 2, 2, 2, 3, 2>, inception_v4_reduction_a<3, 2, 2, 3>,
                               inception_factorized_block<7, 2, 2, 2, 3, 2, 2, 2, 2, 3, 2>,
                               inception_v4_reduction_b<2, 2, 2, 2, 2, 3>,
                               inception_v4_c_block<2, 2, 2, 1, 2, 2, 3, 2, 1, 2>> {
  static constexpr shape input{3, 16, 16};
};
static_assert(bound_model<tiny_v3>::list::out_shapes[4].h == 3, "two valid reductions: 16 -> 7 -> 3");
}  // namespace

TEST_CASE("InceptionV1: forward and backward at batch 2 on the CPU", "[models][inception]") {
  testing::check_forward_backward<inception_v1>();
}
TEST_CASE("InceptionV2: forward and backward at batch 2 on the CPU", "[models][inception]") {
  testing::check_forward_backward<inception_v2>();
}
TEST_CASE("InceptionV3: forward and backward at batch 2 on the CPU", "[models][inception]") {
  testing::check_forward_backward<inception_v3>();
}
TEST_CASE("InceptionV4: forward and backward at batch 2 on the CPU", "[models][inception]") {
  testing::check_forward_backward<inception_v4>();
}

TEST_CASE("Inception gradients match finite differences", "[models][inception][gradcheck]") {
  CNNZOO_CHECK_GRADIENTS(tiny_v1, {.batch = 2});
  CNNZOO_CHECK_GRADIENTS(tiny_v2, {.batch = 2});
  CNNZOO_CHECK_GRADIENTS(tiny_v3, {.batch = 2});
  CNNZOO_CHECK_GRADIENTS(tiny_v4, {.batch = 2});
  CNNZOO_CHECK_GRADIENTS(tiny_v4, {.batch = 2, .training = false});
}

TEST_CASE("Inception: SGD steps on one batch lower the loss", "[models][inception]") {
  // V1 and V3 (V4's steps take three times as long and add no module kind the gradient checks
  // do not already cover).
  testing::check_sgd_lowers_loss<inception_v1>();
  testing::check_sgd_lowers_loss<inception_v3>();
}
