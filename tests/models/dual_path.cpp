// DualPathNet50 and DualPathNet92: exact counts, CPU passes, gradients of a small instance of the
// same template, and a few SGD steps.
#include <catch2/catch.hpp>

#include <cnnzoo/models/dual_path.hpp>

#include "support/gradcheck.hpp"
#include "support/model_checks.hpp"

using namespace cnnzoo;

static_assert(trainable_params<models::dual_path_net50> == 20'990'602);
static_assert(keras_total<models::dual_path_net50> == 21'050'538);
static_assert(trainable_params<models::dual_path_net92> == 34'262'882);
static_assert(keras_total<models::dual_path_net92> == 34'380'578);
static_assert(output_shape<models::dual_path_net92> == shape{10, 1, 1});
// The final state: 2048 residual channels and 2 x 128 + 2 x 128 dense ones after stage 4.
static_assert(bound_model<models::dual_path_net50>::list::out_shapes[1] == shape{2048 + 4 * 128, 4, 4});

namespace {
// Four stages, projecting and identity units, 2 groups, on 16x16 inputs.
struct tiny_dpn : models::dual_path_net<models::dpn_args{
                      .stem = 6, .top = 4, .bottom = 6, .groups = 2, .depths = {2, 2, 1, 1}, .increments = {2, 3, 2, 2}}> {
  static constexpr shape input{3, 16, 16};
};
}  // namespace

TEST_CASE("DualPathNet50: forward and backward at batch 2 on the CPU", "[models][dual_path]") {
  testing::check_forward_backward<models::dual_path_net50>();
}

TEST_CASE("DualPathNet92: forward and backward at batch 2 on the CPU", "[models][dual_path]") {
  testing::check_forward_backward<models::dual_path_net92>();
}

TEST_CASE("DualPathNet gradients match finite differences", "[models][dual_path][gradcheck]") {
  CNNZOO_CHECK_GRADIENTS(tiny_dpn, {.batch = 3});
  CNNZOO_CHECK_GRADIENTS(tiny_dpn, {.batch = 2, .training = false});
}

TEST_CASE("DualPathNet50: SGD steps on one batch lower its loss", "[models][dual_path]") {
  testing::check_sgd_lowers_loss<models::dual_path_net50>(/*n=*/2, /*steps=*/4);
}
