// DenseNet100 and DenseNet121 (BC, the seed's transition widths) and the paper-compressed
// variants: exact counts, CPU passes, gradients of a narrow instance of the same template, and a
// few SGD steps.
#include <catch2/catch.hpp>

#include <cnnzoo/models/densenet.hpp>

#include "support/gradcheck.hpp"
#include "support/model_checks.hpp"

using namespace cnnzoo;
using models::transition_rule;

static_assert(trainable_params<models::densenet100> == 3'262'474);
static_assert(keras_total<models::densenet100> == 3'314'218);
static_assert(trainable_params<models::densenet121> == 7'842'826);
static_assert(keras_total<models::densenet121> == 7'936'202);
static_assert(output_shape<models::densenet121> == shape{10, 1, 1});

// The transition widths of the seed's code, and the paper's theta = 0.5 for comparison.
static_assert(models::detail::transition_width(transition_rule::seed, 24, std::array{16, 16, 16}, 0) == 216);
static_assert(models::detail::transition_width(transition_rule::seed, 24, std::array{16, 16, 16}, 1) == 408);
static_assert(models::detail::transition_width(transition_rule::compressed, 24, std::array{16, 16, 16}, 1) == 300);
static_assert(models::detail::transition_width(transition_rule::seed, 32, std::array{6, 12, 24, 16}, 2) == 704);
static_assert(models::detail::transition_width(transition_rule::compressed, 32, std::array{6, 12, 24, 16}, 2) == 512);
// The final widths feed the classifier: 792 and 1216 (seed), 684 and 1024 (compressed).
static_assert(trainable_params<models::densenet100> - trainable_params<models::densenet100_compressed> > 0);
static_assert(bound_model<models::densenet100>::list::out_shapes[1].c == 792);
static_assert(bound_model<models::densenet121>::list::out_shapes[1].c == 1216);
static_assert(bound_model<models::densenet100_compressed>::list::out_shapes[1].c == 684);
static_assert(bound_model<models::densenet121_compressed>::list::out_shapes[1].c == 1024);

namespace {
// Growth 2, two blocks of two layers: the seed rule gives a transition of (4 + 4) / 2 = 4.
struct tiny_densenet : models::densenet_bc<2, transition_rule::seed, 2, 2> {
  static constexpr shape input{3, 8, 8};
};
struct tiny_densenet_compressed : models::densenet_bc<2, transition_rule::compressed, 2, 3> {
  static constexpr shape input{3, 8, 8};
};
// Three blocks and two transitions on the full 32x32 map, but 4 layers a block at growth 12, for
// the SGD steps (DenseNet100 itself takes about 50 s for them on a busy 2-core machine).
struct small_densenet : models::densenet_bc<12, transition_rule::seed, 4, 4, 4> {};
}  // namespace

TEST_CASE("DenseNet100: forward and backward at batch 2 on the CPU", "[models][densenet]") {
  testing::check_forward_backward<models::densenet100>();
}

TEST_CASE("DenseNet121: forward and backward at batch 2 on the CPU", "[models][densenet]") {
  testing::check_forward_backward<models::densenet121>();
}

TEST_CASE("DenseNet gradients match finite differences", "[models][densenet][gradcheck]") {
  CNNZOO_CHECK_GRADIENTS(tiny_densenet, {.batch = 2});
  CNNZOO_CHECK_GRADIENTS(tiny_densenet_compressed, {.batch = 2});
  CNNZOO_CHECK_GRADIENTS(tiny_densenet, {.batch = 2, .training = false});
}

TEST_CASE("DenseNet: SGD steps on one batch lower its loss", "[models][densenet]") {
  testing::check_sgd_lowers_loss<small_densenet>();
}
