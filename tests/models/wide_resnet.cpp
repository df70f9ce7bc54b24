// WideResNet (28-10): exact counts, a CPU pass of the full network, gradients and SGD steps on
// a small instance of the same template.
#include <catch2/catch.hpp>

#include <cnnzoo/models/wide_resnet.hpp>

#include "support/gradcheck.hpp"
#include "support/model_checks.hpp"

using namespace cnnzoo;

static_assert(trainable_params<models::wide_resnet_28_10> == 36'489'322);
static_assert(keras_total<models::wide_resnet_28_10> == 36'507'306);
static_assert(output_shape<models::wide_resnet_28_10> == shape{10, 1, 1});

namespace {
// WRN-10-1: one unit per stage at 16, 32, 64 channels, dropout 0.3, on 8x8.
struct small_wide : models::wide_resnet<10, 1> {
  static constexpr shape input{3, 8, 8};
};
}  // namespace

TEST_CASE("WideResNet: forward and backward at batch 2 on the CPU", "[models][wide_resnet]") {
  testing::check_forward_backward<models::wide_resnet_28_10>();
}

TEST_CASE("WideResNet gradients match finite differences", "[models][wide_resnet][gradcheck]") {
  CNNZOO_CHECK_GRADIENTS(small_wide, {.batch = 2});   // dropout masks fixed by the generator's seed
  CNNZOO_CHECK_GRADIENTS(small_wide, {.batch = 2, .training = false});
}

TEST_CASE("WideResNet: SGD steps on one batch lower its loss", "[models][wide_resnet]") {
  testing::check_sgd_lowers_loss<small_wide>();
}
