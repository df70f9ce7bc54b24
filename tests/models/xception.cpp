// Xception: exact counts, CPU passes, gradients of a narrow instance of the same template, and a
// few SGD steps.
#include <catch2/catch.hpp>

#include <cnnzoo/models/xception.hpp>

#include "support/gradcheck.hpp"
#include "support/model_checks.hpp"

using namespace cnnzoo;

static_assert(trainable_params<models::xception> == 1'349'356);
static_assert(keras_total<models::xception> == 1'362'108);
static_assert(output_shape<models::xception> == shape{10, 1, 1});

namespace {
// Every block type (entry, two middle, exit) at a few channels: 8 -> 4 -> 2.
struct tiny_xception : models::xception_net<3, 4, 2, 5, 4, 6> {
  static constexpr shape input{3, 8, 8};
};
}  // namespace

TEST_CASE("Xception: forward and backward at batch 2 on the CPU", "[models][xception]") {
  testing::check_forward_backward<models::xception>();
}

TEST_CASE("Xception gradients match finite differences", "[models][xception][gradcheck]") {
  CNNZOO_CHECK_GRADIENTS(tiny_xception, {.batch = 2});
  CNNZOO_CHECK_GRADIENTS(tiny_xception, {.batch = 2, .training = false});
}

TEST_CASE("Xception: SGD steps on one batch lower its loss", "[models][xception]") {
  testing::check_sgd_lowers_loss<models::xception>();
}
