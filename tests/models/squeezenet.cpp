// SqueezeNet: exact counts, CPU passes, gradients of a narrow instance of the same template, and
// a few SGD steps.
#include <catch2/catch.hpp>

#include <cnnzoo/models/squeezenet.hpp>

#include "support/gradcheck.hpp"
#include "support/model_checks.hpp"

using namespace cnnzoo;

static_assert(trainable_params<models::squeezenet> == 727'626);
static_assert(keras_total<models::squeezenet> == 727'626);
static_assert(batch_norm_channels<models::squeezenet> == 0);
static_assert(output_shape<models::squeezenet> == shape{10, 1, 1});

namespace {
struct tiny_squeezenet : models::squeeze_net<4, models::fire_pair<1>, max_pool<2>, models::fire_pair<2>> {
  static constexpr shape input{3, 8, 8};
};
}  // namespace

TEST_CASE("SqueezeNet: forward and backward at batch 2 on the CPU", "[models][squeezenet]") {
  testing::check_forward_backward<models::squeezenet>();
}

TEST_CASE("SqueezeNet gradients match finite differences", "[models][squeezenet][gradcheck]") {
  CNNZOO_CHECK_GRADIENTS(tiny_squeezenet, {.batch = 2});
  CNNZOO_CHECK_GRADIENTS(tiny_squeezenet, {.batch = 2, .training = false});
}

TEST_CASE("SqueezeNet: SGD steps on one batch lower its loss", "[models][squeezenet]") {
  testing::check_sgd_lowers_loss<models::squeezenet>();
}
