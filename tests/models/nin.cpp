// NIN: exact counts, CPU passes, gradients of a narrow instance of the same template, and a few
// SGD steps.
#include <catch2/catch.hpp>

#include <cnnzoo/models/nin.hpp>

#include "support/gradcheck.hpp"
#include "support/model_checks.hpp"

using namespace cnnzoo;

static_assert(trainable_params<models::nin> == 969'822);
static_assert(keras_total<models::nin> == 972'658);
static_assert(output_shape<models::nin> == shape{10, 1, 1});

namespace {
struct tiny_nin : models::network_in_network<models::mlpconv<5, 4, 3, 4>, models::mlpconv<5, 4, 4, 3>,
                                             models::mlpconv<3, 4, 3, cifar10_classes>> {
  static constexpr shape input{3, 8, 8};
};
}  // namespace

TEST_CASE("NIN: forward and backward at batch 2 on the CPU", "[models][nin]") {
  testing::check_forward_backward<models::nin>();
}

TEST_CASE("NIN gradients match finite differences", "[models][nin][gradcheck]") {
  CNNZOO_CHECK_GRADIENTS(tiny_nin, {.batch = 3});
  CNNZOO_CHECK_GRADIENTS(tiny_nin, {.batch = 2, .training = false});
}

TEST_CASE("NIN: SGD steps on one batch lower its loss", "[models][nin]") {
  testing::check_sgd_lowers_loss<models::nin>();
}
