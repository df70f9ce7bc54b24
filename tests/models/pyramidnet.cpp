// PyramidNet110 (bottleneck, alpha 200): exact counts, CPU passes, gradients of a small instance
// of the same template (pooled and zero-padded shortcuts), and a few SGD steps.
#include <catch2/catch.hpp>

#include <cnnzoo/models/pyramidnet.hpp>

#include "support/gradcheck.hpp"
#include "support/model_checks.hpp"

using namespace cnnzoo;

static_assert(trainable_params<models::pyramidnet110> == 9'819'362);
static_assert(keras_total<models::pyramidnet110> == 9'900'626);
static_assert(output_shape<models::pyramidnet110> == shape{10, 1, 1});
// Unit k = 1..36 is 16 + floor(200 (k - 1) / 36) wide: 16 first, 210 last (840 outputs).
static_assert(bound_model<models::pyramidnet110>::list::out_shapes[1] == shape{840, 8, 8});

namespace {
// Two stages of two units: the widening identity-free shortcut, a pooled one, on 8x8 inputs.
struct tiny_pyramidnet : models::pyramidnet<4, 6, std::array<int, 2>{2, 2}> {
  static constexpr shape input{3, 8, 8};
};
}  // namespace

TEST_CASE("PyramidNet110: forward and backward at batch 2 on the CPU", "[models][pyramidnet]") {
  testing::check_forward_backward<models::pyramidnet110>();
}

TEST_CASE("PyramidNet gradients match finite differences", "[models][pyramidnet][gradcheck]") {
  CNNZOO_CHECK_GRADIENTS(tiny_pyramidnet, {.batch = 3});
  CNNZOO_CHECK_GRADIENTS(tiny_pyramidnet, {.batch = 2, .training = false});
}

TEST_CASE("PyramidNet110: SGD steps on one batch lower its loss", "[models][pyramidnet]") {
  testing::check_sgd_lowers_loss<models::pyramidnet110>(/*n=*/2, /*steps=*/4);
}
