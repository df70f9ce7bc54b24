// AlexNet: exact counts, CPU passes, gradients of a narrow instance of the same template, and a
// few SGD steps.
#include <catch2/catch.hpp>

#include <cnnzoo/models/alexnet.hpp>

#include "support/gradcheck.hpp"
#include "support/model_checks.hpp"

using namespace cnnzoo;

static_assert(trainable_params<models::alexnet> == 9'638'474);
static_assert(keras_total<models::alexnet> == 9'639'178);
static_assert(output_shape<models::alexnet> == shape{10, 1, 1});

namespace {
// Every stage of the same template at a few filters; 24x24 is the smallest input whose last
// pool still has a 3x3 window to slide over (24 -> 22 -> 10 -> 8 -> 3 -> 1).
struct tiny_alexnet : models::alexnet_cifar<4, 6, 6, 4, 4, 8> {
  static constexpr shape input{3, 24, 24};
};
static_assert(output_shape<tiny_alexnet> == shape{10, 1, 1});
}  // namespace

TEST_CASE("AlexNet: forward and backward at batch 2 on the CPU", "[models][alexnet]") {
  testing::check_forward_backward<models::alexnet>();
}

TEST_CASE("AlexNet gradients match finite differences", "[models][alexnet][gradcheck]") {
  CNNZOO_CHECK_GRADIENTS(tiny_alexnet, {.batch = 3});
  CNNZOO_CHECK_GRADIENTS(tiny_alexnet, {.batch = 2, .training = false});
}

TEST_CASE("AlexNet: SGD steps on one batch lower its loss", "[models][alexnet]") {
  // Without BatchNorm after conv3-5 and the wide dense layers, He-initialised AlexNet diverges at
  // the default 0.02 (losses 2.5, 217, 3e4, ...); 5e-4 descends steadily.
  testing::check_sgd_lowers_loss<models::alexnet>(4, 6, 5e-4);
}
