// EfficientNetB0 (standard B0, stride-1 stem): exact counts, CPU passes, gradients of a small
// instance of the same template (drop-connect and dropout active), and a few SGD steps.
#include <catch2/catch.hpp>

#include <cnnzoo/models/efficientnet.hpp>

#include "support/gradcheck.hpp"
#include "support/model_checks.hpp"

using namespace cnnzoo;

// zoo/models.tsv's targets; the seed table's 3.45M matches no configuration (see the header).
static_assert(trainable_params<models::efficientnet_b0> == 4'020'358);
static_assert(keras_total<models::efficientnet_b0> == 4'062'374);
static_assert(output_shape<models::efficientnet_b0> == shape{10, 1, 1});
// Drop-connect grows linearly to 0.2 over the 16 blocks: block b survives with 1 - 0.2 b / 16.
static_assert(models::detail::block_args(models::efficientnet_b0_stages, 0, 0.2).survival == 1.0);
static_assert(models::detail::block_args(models::efficientnet_b0_stages, 8, 0.2).survival == 0.9);
static_assert(models::detail::block_args(models::efficientnet_b0_stages, 15, 0.2).stride == 1);
static_assert(models::detail::block_args(models::efficientnet_b0_stages, 11, 0.2).stride == 2);

namespace {
// Expansion 1 and 3, stride 2, kernels 3 and 5, residual blocks with drop-connect, on 8x8 inputs.
inline constexpr std::array<models::efficientnet_stage_args, 3> tiny_stages{{
    {1, 8, 1, 3, 1}, {3, 8, 2, 3, 2}, {3, 12, 2, 5, 1},
}};
struct tiny_efficientnet : models::efficientnet<8, 1, tiny_stages, 16, 0.2, 0.5> {
  static constexpr shape input{3, 8, 8};
};
}  // namespace

TEST_CASE("EfficientNetB0: forward and backward at batch 2 on the CPU", "[models][efficientnet]") {
  testing::check_forward_backward<models::efficientnet_b0>();
}

TEST_CASE("EfficientNetB0 gradients match finite differences", "[models][efficientnet][gradcheck]") {
  CNNZOO_CHECK_GRADIENTS(tiny_efficientnet, {.batch = 4});
  CNNZOO_CHECK_GRADIENTS(tiny_efficientnet, {.batch = 2, .training = false});
}

TEST_CASE("EfficientNetB0: SGD steps on one batch lower its loss", "[models][efficientnet]") {
  testing::check_sgd_lowers_loss<models::efficientnet_b0>();
}
