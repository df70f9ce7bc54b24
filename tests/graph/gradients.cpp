// Finite-difference gradient checks of every combinator, alone and nested, in training and
// inference mode (BatchNorm and dropout inside make the two differ).
#include <catch2/catch.hpp>

#include "support/gradcheck.hpp"

using namespace cnnzoo;
using testing::as_model;

namespace {

template <int Out, int K = 3, int Stride = 1, bool Bias = false>
using cv = conv<conv_args{.out = Out, .kernel = K, .stride = Stride, .bias = Bias}>;

using plain_seq = as_model<seq<cv<3>, batch_norm, relu, cv<2, 3, 2, true>>, shape{2, 6, 6}>;

using residual_identity = as_model<residual<seq<cv<3>, batch_norm, relu, cv<3>>>, shape{3, 5, 5}>;

using residual_projection =
    as_model<residual<seq<cv<4, 3, 2>, batch_norm, relu, cv<4>>, cv<4, 1, 2, true>>, shape{3, 6, 6}>;

using three_way_sum = as_model<sum<cv<3>, seq<cv<3, 1>, swish>, identity>, shape{3, 4, 5}>;

using fractal_mean = as_model<mean_join<cv<2>, seq<cv<2>, batch_norm, relu, cv<2>>, identity>, shape{2, 5, 5}>;

// DenseNet's layer: the input kept, new channels appended.
using dense_layer = as_model<concat<identity, seq<batch_norm, relu, cv<2>>>, shape{3, 5, 5}>;

// An Inception-like module: parallel towers of different depth and a pool.
using inception = as_model<concat<cv<2, 1>, seq<cv<2, 1>, relu, cv<3>>, max_pool<3, 1, padding::same>>,
                           shape{2, 5, 5}>;

// Combinators inside combinators.
using nested = as_model<
    seq<residual<seq<concat<identity, seq<batch_norm, relu, cv<2>>>, cv<3, 1>>>,
        mean_join<residual<seq<cv<3>, hard_swish>>, seq<cv<3, 1>, batch_norm>>,
        sum<concat<cv<1, 1>, cv<2>>, identity>>,
    shape{3, 5, 5}>;

// A full little network: the kind of model the zoo is made of, ending in a flat head.
struct tiny_net : seq<cv<4>, batch_norm, relu,
                      residual<seq<cv<4>, batch_norm, relu, dropout<0.3>, cv<4>>>,
                      concat<identity, cv<2, 1>>, max_pool<2>, residual<seq<cv<6, 3, 2>, batch_norm>, cv<6, 1, 2>>,
                      global_avg_pool, dropout<0.2>, dense<5>> {
  static constexpr shape input{3, 8, 8};
};

}  // namespace

TEST_CASE("seq gradients", "[graph][gradcheck]") {
  CNNZOO_CHECK_GRADIENTS(plain_seq, {.batch = 2, .training = true});
  CNNZOO_CHECK_GRADIENTS(plain_seq, {.batch = 2, .training = false});
}

TEST_CASE("residual gradients, identity and projection shortcuts", "[graph][gradcheck]") {
  CNNZOO_CHECK_GRADIENTS(residual_identity, {.batch = 2, .training = true});
  CNNZOO_CHECK_GRADIENTS(residual_identity, {.batch = 2, .training = false});
  CNNZOO_CHECK_GRADIENTS(residual_projection, {.batch = 2, .training = true});
  CNNZOO_CHECK_GRADIENTS(residual_projection, {.batch = 2, .training = false});
}

TEST_CASE("sum and mean_join gradients", "[graph][gradcheck]") {
  CNNZOO_CHECK_GRADIENTS(three_way_sum, {.batch = 2});
  CNNZOO_CHECK_GRADIENTS(fractal_mean, {.batch = 2, .training = true});
  CNNZOO_CHECK_GRADIENTS(fractal_mean, {.batch = 3, .training = false});
}

TEST_CASE("concat gradients, with an identity branch and with towers", "[graph][gradcheck]") {
  CNNZOO_CHECK_GRADIENTS(dense_layer, {.batch = 2, .training = true});
  CNNZOO_CHECK_GRADIENTS(dense_layer, {.batch = 2, .training = false});
  CNNZOO_CHECK_GRADIENTS(inception, {.batch = 2});
}

TEST_CASE("nested combinator gradients", "[graph][gradcheck]") {
  CNNZOO_CHECK_GRADIENTS(nested, {.batch = 2, .training = true});
  CNNZOO_CHECK_GRADIENTS(nested, {.batch = 2, .training = false});
}

TEST_CASE("a small complete network's gradients", "[graph][gradcheck]") {
  CNNZOO_CHECK_GRADIENTS(tiny_net, {.batch = 3, .training = true});
  CNNZOO_CHECK_GRADIENTS(tiny_net, {.batch = 2, .training = false});
}
