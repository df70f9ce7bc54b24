// MobileNetV3 (the seed's CIFAR-10 adaptation): exact counts, CPU passes, gradients of a small
// instance of the same template, and a few SGD steps.
#include <catch2/catch.hpp>

#include <cnnzoo/models/mobilenet.hpp>

#include "support/gradcheck.hpp"
#include "support/model_checks.hpp"

using namespace cnnzoo;

static_assert(trainable_params<models::mobilenet_v3> == 4'190'922);
static_assert(keras_total<models::mobilenet_v3> == 4'214'298);
static_assert(output_shape<models::mobilenet_v3> == shape{10, 1, 1});

namespace {
constexpr auto RE = ops::activation::relu6;
constexpr auto HS = ops::activation::hard_swish;
// Every block kind: ReLU6 + SE + residual, h-swish stride 2 without SE, h-swish + SE + residual.
inline constexpr std::array<models::bneck_args, 3> tiny_blocks{{
    {8, 16, 3, 1, true, RE}, {12, 24, 3, 2, false, HS}, {12, 20, 5, 1, true, HS},
}};
struct tiny_mobilenet : models::mobilenet_v3_net<8, tiny_blocks, 16, 12> {
  static constexpr shape input{3, 8, 8};
};
}  // namespace

TEST_CASE("MobileNetV3: forward and backward at batch 2 on the CPU", "[models][mobilenet]") {
  testing::check_forward_backward<models::mobilenet_v3>();
}

TEST_CASE("MobileNetV3 gradients match finite differences", "[models][mobilenet][gradcheck]") {
  // A smaller step than the default: the SE's ReLU6 and hard-sigmoid act on a handful of pooled
  // values, each scaling a whole plane, so a +-1e-5 probe that crosses one of their kinks (it
  // happens at the default step) moves the loss by far more than the tolerance.
  CNNZOO_CHECK_GRADIENTS(tiny_mobilenet, {.batch = 3, .step = 1e-6});
  CNNZOO_CHECK_GRADIENTS(tiny_mobilenet, {.batch = 2, .training = false, .step = 1e-6});
}

TEST_CASE("MobileNetV3: SGD steps on one batch lower its loss", "[models][mobilenet]") {
  testing::check_sgd_lowers_loss<models::mobilenet_v3>();
}
