// SE-WideResNet (and SE-WideResNet_2, the same type): exact counts, a CPU pass of the full
// network, gradients and SGD steps on a small instance of the same template.
#include <catch2/catch.hpp>

#include <type_traits>

#include <cnnzoo/models/senet.hpp>

#include "support/gradcheck.hpp"
#include "support/model_checks.hpp"

using namespace cnnzoo;

static_assert(trainable_params<models::se_wide_resnet> == 36'841'154);
static_assert(keras_total<models::se_wide_resnet> == 36'859'330);
static_assert(std::is_same_v<models::se_wide_resnet_2, models::se_wide_resnet>);
static_assert(trainable_params<models::se_wide_resnet_2> == 36'841'154);
static_assert(keras_total<models::se_wide_resnet_2> == 36'859'330);

namespace {
// WRN-10-1 (one unit per stage at 16, 32, 64: SE hidden widths 1, 2, 4) with the SE-WideResNet
// arguments otherwise: stem without bias, swish, dropout 0.2, SE with biases and swish.
constexpr models::wide_resnet_args small_args{
    .depth = 10, .widen = 1, .stem = 8, .stem_bias = false, .act = ops::activation::swish, .dropout = 0.2};
struct small_se_wide
    : models::wide_resnet_net<small_args, squeeze_excite<se_args{.bias = true, .act = ops::activation::swish}>> {
  static constexpr shape input{3, 8, 8};
};
}  // namespace

TEST_CASE("SE-WideResNet: forward and backward at batch 2 on the CPU", "[models][senet]") {
  testing::check_forward_backward<models::se_wide_resnet>();
}

TEST_CASE("SE-WideResNet gradients match finite differences", "[models][senet][gradcheck]") {
  CNNZOO_CHECK_GRADIENTS(small_se_wide, {.batch = 2});   // dropout masks fixed by the generator's seed
  CNNZOO_CHECK_GRADIENTS(small_se_wide, {.batch = 2, .training = false});
}

TEST_CASE("SE-WideResNet: SGD steps on one batch lower its loss", "[models][senet]") {
  testing::check_sgd_lowers_loss<small_se_wide>();
}
