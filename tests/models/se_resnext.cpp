// SE-ResNeXt50: exact counts, a CPU pass of the full network, gradients and SGD steps on a small
// instance of the same template (ResNeXt's body with squeeze_excite on every branch).
#include <catch2/catch.hpp>

#include <cnnzoo/models/senet.hpp>

#include "support/gradcheck.hpp"
#include "support/model_checks.hpp"

using namespace cnnzoo;

static_assert(trainable_params<models::se_resnext50> == 25'526'602);
static_assert(keras_total<models::se_resnext50> == 25'587'274);
static_assert(trainable_params<models::se_resnext50> - trainable_params<models::resnext50> ==
              3 * 2 * 256 * 16 + 4 * 2 * 512 * 32 + 6 * 2 * 1024 * 64 + 3 * 2 * 2048 * 128);

namespace {
// 8 grouped channels in 4 groups (outputs 16, 32: SE hidden widths 1, 2), two stages on 8x8.
struct small_se_resnext
    : models::resnext_net<models::resnext_args{.stem = 8, .width = 8, .cardinality = 4}, models::stage_depths<1, 2>,
                          squeeze_excite<se_args{}>> {
  static constexpr shape input{3, 8, 8};
};
}  // namespace

TEST_CASE("SE-ResNeXt50: forward and backward at batch 2 on the CPU", "[models][senet]") {
  testing::check_forward_backward<models::se_resnext50>();
}

TEST_CASE("SE-ResNeXt gradients match finite differences", "[models][senet][gradcheck]") {
  CNNZOO_CHECK_GRADIENTS(small_se_resnext, {.batch = 2});
  CNNZOO_CHECK_GRADIENTS(small_se_resnext, {.batch = 2, .training = false});
}

TEST_CASE("SE-ResNeXt: SGD steps on one batch lower its loss", "[models][senet]") {
  testing::check_sgd_lowers_loss<small_se_resnext>();
}
