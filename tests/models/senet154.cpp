// SENet154 (the seed's): the full network's counts at compile time only (567M parameters, about
// 2.3 GB of fp32 weights, and 59 GFLOPs per image are beyond a CPU test); its CPU pass runs on a
// reduced-width instance of the same template with the same depth [3, 8, 36, 3], 4x outputs and
// SE; gradients and SGD steps on a shallower one.
#include <catch2/catch.hpp>

#include <cnnzoo/models/senet.hpp>

#include "support/gradcheck.hpp"
#include "support/model_checks.hpp"

using namespace cnnzoo;

static_assert(trainable_params<models::senet154> == 567'375'594);
static_assert(keras_total<models::senet154> == 567'950'186);
static_assert(output_shape<models::senet154> == shape{10, 1, 1});

namespace {
using se = squeeze_excite<se_args{}>;
// SENet154 at 1/32 width: stem 8, grouped widths 8..64 in 4 groups, outputs 32..256, 50 units.
struct narrow_senet154
    : models::resnext_net<models::resnext_args{.stem = 8, .width = 8, .expansion = 4, .cardinality = 4},
                          models::senet154_depths, se> {};
// The same arguments, one unit in each of two stages, on 8x8.
struct small_senet
    : models::resnext_net<models::resnext_args{.stem = 8, .width = 8, .expansion = 4, .cardinality = 4},
                          models::stage_depths<1, 1>, se> {
  static constexpr shape input{3, 8, 8};
};
}  // namespace

TEST_CASE("SENet154 (reduced width): forward and backward at batch 2 on the CPU", "[models][senet]") {
  testing::check_forward_backward<narrow_senet154>();
}

TEST_CASE("SENet gradients match finite differences", "[models][senet][gradcheck]") {
  CNNZOO_CHECK_GRADIENTS(small_senet, {.batch = 2});
  CNNZOO_CHECK_GRADIENTS(small_senet, {.batch = 2, .training = false});
}

TEST_CASE("SENet: SGD steps on one batch lower its loss", "[models][senet]") {
  testing::check_sgd_lowers_loss<small_senet>();
}
