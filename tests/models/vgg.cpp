// VGG16: exact counts, CPU passes, gradients of a narrow instance of the same template, and a few
// SGD steps.
#include <catch2/catch.hpp>

#include <cnnzoo/models/vgg.hpp>

#include "support/gradcheck.hpp"
#include "support/model_checks.hpp"

using namespace cnnzoo;

static_assert(trainable_params<models::vgg16> == 33'663'050);
static_assert(keras_total<models::vgg16> == 33'687'882);
static_assert(output_shape<models::vgg16> == shape{10, 1, 1});

namespace {
// Two stages on 8x8 leave a 2x2 map, so flatten feeds 4 pixels per channel to the dense layers.
struct tiny_vgg : models::vgg<8, models::vgg_stage<3, 1>, models::vgg_stage<4, 2>> {
  static constexpr shape input{3, 8, 8};
};
}  // namespace

TEST_CASE("VGG16: forward and backward at batch 2 on the CPU", "[models][vgg]") {
  testing::check_forward_backward<models::vgg16>();
}

TEST_CASE("VGG gradients match finite differences", "[models][vgg][gradcheck]") {
  // Batch 3: BatchNorm over a batch of 2 on the (units, 1, 1) hidden layers maps every unit to
  // +-1, a flat function whose gradient is almost all cancellation.
  CNNZOO_CHECK_GRADIENTS(tiny_vgg, {.batch = 3});
  CNNZOO_CHECK_GRADIENTS(tiny_vgg, {.batch = 2, .training = false});
}

TEST_CASE("VGG16: SGD steps on one batch lower its loss", "[models][vgg]") {
  // At the default 0.02 the 4,096-unit layers overshoot (3.5, 1.7, 5.1, 13.2, ...); 0.005 descends.
  testing::check_sgd_lowers_loss<models::vgg16>(4, 6, 0.005);
}
