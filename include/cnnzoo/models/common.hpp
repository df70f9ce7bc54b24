#pragma once
// Blocks that several model families share: conv-BN-activation, pre-activation, shortcuts that
// project only where the shape changes, repetition of numbered units, classifier heads.
#include <array>
#include <type_traits>
#include <utility>

#include "../cnnzoo.hpp"

namespace cnnzoo::models {

// conv -> BatchNorm -> activation (the seed's ConvBNRelu). Keras convolutions have a bias unless
// told otherwise; the seed's code says which do not, so the default here follows Keras.
template <conv_args A, class Act = relu>
using conv_bn_act = seq<conv<A>, batch_norm, Act>;

// BatchNorm -> activation, the opening of every pre-activation unit.
template <class Act = relu>
using bn_act = seq<batch_norm, Act>;

// A residual shortcut for a unit that outputs `Out` channels at `Stride`: the identity where the
// unit keeps the shape, else a 1x1 projection (with a bias, as in the seed's Keras code).
template <int Out, int Stride = 1, bool Bias = true>
struct shortcut {
  template <shape In>
  struct bind : std::conditional_t<In.c == Out && Stride == 1, identity::template bind<In>,
                                   typename conv<conv_args{.out = Out, .kernel = 1, .stride = Stride,
                                                           .bias = Bias}>::template bind<In>> {};
};

// seq<Unit<0>, Unit<1>, ..., Unit<N-1>>: stages of numbered units without writing them out.
namespace detail {
template <template <int> class Unit, int... I>
seq<Unit<I>...> repeat_of(std::integer_sequence<int, I...>);
}
template <template <int> class Unit, int N>
using repeat = decltype(detail::repeat_of<Unit>(std::make_integer_sequence<int, N>{}));

// Global average pool, optional dropout, dense to the classes.
template <int Classes = cifar10_classes>
using gap_dense = seq<global_avg_pool, dense<Classes>>;
template <double Dropout, int Classes = cifar10_classes>
using gap_dropout_dense = seq<global_avg_pool, dropout<Dropout>, dense<Classes>>;

// The stride of unit j of stage i in the ResNet family: the first unit of every stage but the
// first halves the map.
constexpr int stage_stride(int stage, int unit) noexcept { return stage > 0 && unit == 0 ? 2 : 1; }

}  // namespace cnnzoo::models
