// DilatedConv: exact counts, CPU passes, gradients of a narrow instance of the same template, and
// a few SGD steps.
#include <catch2/catch.hpp>

#include <cnnzoo/models/dilated.hpp>

#include "support/gradcheck.hpp"
#include "support/model_checks.hpp"

using namespace cnnzoo;

static_assert(trainable_params<models::dilated_conv> == 2'014'538);
static_assert(keras_total<models::dilated_conv> == 2'017'514);
static_assert(output_shape<models::dilated_conv> == shape{10, 1, 1});

namespace {
// 8x8 is larger than the dilation-3 kernel's 7-pixel extent, so every tap meets real pixels.
struct tiny_dilated : models::dilated_net<3, 4> {
  static constexpr shape input{3, 8, 8};
};
// A narrower network on the full 32x32 map for the SGD steps: the full one runs all five blocks
// at 32x32 (about 4 GFLOPs an image) and would dominate this file's run time.
struct narrow_dilated : models::dilated_net<8, 16, 32> {};
}  // namespace

TEST_CASE("DilatedConv: forward and backward at batch 2 on the CPU", "[models][dilated]") {
  testing::check_forward_backward<models::dilated_conv>();
}

TEST_CASE("DilatedConv gradients match finite differences", "[models][dilated][gradcheck]") {
  CNNZOO_CHECK_GRADIENTS(tiny_dilated, {.batch = 2});
  CNNZOO_CHECK_GRADIENTS(tiny_dilated, {.batch = 2, .training = false});
}

TEST_CASE("DilatedConv: SGD steps on one batch lower its loss", "[models][dilated]") {
  testing::check_sgd_lowers_loss<narrow_dilated>();
}
