// SKNet (the seed's, softmax over each branch's channels) and sknet_paper (softmax over the
// branches): exact counts, CPU passes of both full networks, gradients and SGD steps on small
// instances of the same template.
#include <catch2/catch.hpp>

#include <cnnzoo/models/sknet.hpp>

#include "support/gradcheck.hpp"
#include "support/model_checks.hpp"

using namespace cnnzoo;

static_assert(trainable_params<models::sknet> == 6'687'946);
static_assert(keras_total<models::sknet> == 6'726'986);
static_assert(trainable_params<models::sknet_paper> == trainable_params<models::sknet>);
static_assert(keras_total<models::sknet_paper> == keras_total<models::sknet>);

namespace {
// SK width 8 in 4 groups, z = 4, two stages (stride 1: 3x3 + dilated 3x3; stride 2: 3x3 + 5x5) on 8x8.
template <ops::softmax_over Over>
struct small_sknet
    : models::sknet_net<models::sknet_args{.stem = 8, .width = 8, .groups = 4, .min_hidden = 4, .over = Over},
                        models::stage_depths<1, 1>> {
  static constexpr shape input{3, 8, 8};
};
using small_seed = small_sknet<ops::softmax_over::channels>;
using small_paper = small_sknet<ops::softmax_over::groups>;
}  // namespace

TEST_CASE("SKNet: forward and backward at batch 2 on the CPU", "[models][sknet]") {
  testing::check_forward_backward<models::sknet>();
  testing::check_forward_backward<models::sknet_paper>();
}

TEST_CASE("SKNet gradients match finite differences", "[models][sknet][gradcheck]") {
  CNNZOO_CHECK_GRADIENTS(small_seed, {.batch = 2});
  CNNZOO_CHECK_GRADIENTS(small_paper, {.batch = 3});
  CNNZOO_CHECK_GRADIENTS(small_seed, {.batch = 2, .training = false});
}

TEST_CASE("SKNet: SGD steps on one batch lower its loss", "[models][sknet]") {
  testing::check_sgd_lowers_loss<small_seed>();
  testing::check_sgd_lowers_loss<small_paper>();
}
