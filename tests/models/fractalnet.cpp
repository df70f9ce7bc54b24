// FractalNet: exact counts, CPU passes, gradients of a narrow instance of the same template, and
// a few SGD steps.
#include <catch2/catch.hpp>

#include <cnnzoo/models/fractalnet.hpp>

#include "support/gradcheck.hpp"
#include "support/model_checks.hpp"

using namespace cnnzoo;

static_assert(trainable_params<models::fractalnet> == 33'734'922);
static_assert(keras_total<models::fractalnet> == 33'755'530);
static_assert(output_shape<models::fractalnet> == shape{10, 1, 1});
// f_3 holds 2^3 - 1 = 7 convolutions, each with BatchNorm: 7 x 64 BatchNorm channels in block 1.
static_assert(batch_norm_channels<models::fractal<3, 64>> == 7 * 64);

namespace {
// Three columns as in the seed, two blocks at 3 and 4 filters: 8 -> 4 -> 2, then flatten.
struct tiny_fractalnet : models::fractal_net<3, 3, 4> {
  static constexpr shape input{3, 8, 8};
};
// The full depth (five blocks, 35 convolutions, 32 -> 1) at a quarter of the width for the SGD
// steps; six steps of the full network at batch 4 would take most of this file's time budget.
struct narrow_fractalnet : models::fractal_net<3, 16, 32, 64, 128, 128> {};
}  // namespace

TEST_CASE("FractalNet: forward and backward at batch 2 on the CPU", "[models][fractalnet]") {
  testing::check_forward_backward<models::fractalnet>();
}

TEST_CASE("FractalNet gradients match finite differences", "[models][fractalnet][gradcheck]") {
  CNNZOO_CHECK_GRADIENTS(tiny_fractalnet, {.batch = 2});
  CNNZOO_CHECK_GRADIENTS(tiny_fractalnet, {.batch = 2, .training = false});
}

TEST_CASE("FractalNet: SGD steps on one batch lower its loss", "[models][fractalnet]") {
  testing::check_sgd_lowers_loss<narrow_fractalnet>();
}
