// ResNeXt50 (32x4d): exact counts (the seed's code; the seed's table says 23.11M, see
// models/resnext.hpp), a CPU pass of the full network, and gradients and SGD steps on a small
// instance of the same template.
#include <catch2/catch.hpp>

#include <cnnzoo/models/resnext.hpp>

#include "support/gradcheck.hpp"
#include "support/model_checks.hpp"

using namespace cnnzoo;

static_assert(trainable_params<models::resnext50> == 23'011'658);
static_assert(keras_total<models::resnext50> == 23'072'330);
static_assert(output_shape<models::resnext50> == shape{10, 1, 1});

namespace {
// The same template at 8 grouped channels in 4 groups, two stages (one strided, projecting) on 8x8.
struct small_resnext : models::resnext_net<models::resnext_args{.stem = 8, .width = 8, .cardinality = 4},
                                           models::stage_depths<1, 2>> {
  static constexpr shape input{3, 8, 8};
};
}  // namespace

TEST_CASE("ResNeXt50: forward and backward at batch 2 on the CPU", "[models][resnext]") {
  testing::check_forward_backward<models::resnext50>();
}

TEST_CASE("ResNeXt gradients match finite differences", "[models][resnext][gradcheck]") {
  CNNZOO_CHECK_GRADIENTS(small_resnext, {.batch = 2});
  CNNZOO_CHECK_GRADIENTS(small_resnext, {.batch = 2, .training = false});
}

TEST_CASE("ResNeXt: SGD steps on one batch lower its loss", "[models][resnext]") {
  testing::check_sgd_lowers_loss<small_resnext>();
}
