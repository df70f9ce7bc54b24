#pragma once
// Pre-activation residual networks, and the stage machinery the residual family shares.
//
// Paper: K. He, X. Zhang, S. Ren, J. Sun, "Identity Mappings in Deep Residual Networks" (ECCV
// 2016), the full pre-activation unit BN-ReLU-conv. Changes for 32x32 CIFAR-10 inputs, as in the
// seed: the 7x7/2 stem and its max pool become one 3x3 conv (64 filters, bias) + BN + ReLU, so the
// four stages run at 32, 16, 8 and 4 pixels; every convolution has a bias (Keras' default); the
// projection shortcut is a 1x1 conv with bias and no BN, applied to the unit's raw input; the
// network ends BN-ReLU, global average pool, dense 10.
//
//   ResNet18: basic units (3x3, 3x3), [2, 2, 2, 2] at 64/128/256/512 -> 11,177,098 trainable
//   ResNet50: bottleneck units (1x1 strided, 3x3, 1x1 x4), [3, 4, 6, 3] -> 23,539,850 trainable
//
// The bottleneck unit takes the parts that follow its last convolution on the branch, before the
// add (`Tail...`): SE-ResNet50 (senet.hpp), CBAM-ResNet50 (cbam.hpp) and StochasticDepth
// (stochastic_depth.hpp) are this network with a squeeze_excite, a cbam or a drop_path there;
// ResNeXt (resnext.hpp) and SKNet (sknet.hpp) change the unit's arguments or its middle.
#include "common.hpp"

namespace cnnzoo::models {

// ---- units ----------------------------------------------------------------------------------

// BN-ReLU-conv3x3(stride)-BN-ReLU-conv3x3, plus the shortcut.
template <int Width, int Stride>
struct preact_basic_unit
    : residual<seq<batch_norm, relu, conv<conv_args{.out = Width, .kernel = 3, .stride = Stride, .bias = true}>,
                   batch_norm, relu, conv<conv_args{.out = Width, .kernel = 3, .bias = true}>>,
               shortcut<Width, Stride>> {
  static constexpr std::string_view name = "preact_basic_unit";
  static constexpr int expansion = 1;
};

// The shape of one pre-activation bottleneck unit: BN-R-1x1(width)-BN-R-middle-1x1(out).
struct bottleneck_args {
  int width = 64;             // channels of the 1x1 reduction and of the middle
  int out = 256;              // channels of the unit's output
  int stride = 1;
  int groups = 1;             // of the middle 3x3 (ResNeXt's cardinality)
  bool stride_first = true;   // stride on the first 1x1 (the seed's ResNet50, ResNet v1's place)
                              // or in the middle (ResNeXt, SENet, SKNet)
  bool reduce_bias = true;    // bias on the first 1x1 (ResNet50) or not (ResNeXt, SENet, SKNet)
};

// A stage's unit from stage 0's arguments: widths double with every stage.
constexpr bottleneck_args at_stage(bottleneck_args a, int stage, int stride) noexcept {
  a.width <<= stage;
  a.out <<= stage;
  a.stride = stride;
  return a;
}

// The middle of a bottleneck: grouped 3x3 (bias, the stride unless the first 1x1 has it) + BN + ReLU.
template <bottleneck_args A>
using bottleneck_3x3 = seq<conv<conv_args{.out = A.width, .kernel = 3, .stride = A.stride_first ? 1 : A.stride,
                                          .groups = A.groups, .bias = true}>,
                           batch_norm, relu>;

// BN-ReLU-conv1x1-BN-ReLU-Middle-conv1x1(out, bias), then Tail... on the branch, plus the shortcut.
template <bottleneck_args A, class Middle, class... Tail>
struct preact_bottleneck_of
    : residual<seq<batch_norm, relu,
                   conv<conv_args{.out = A.width, .kernel = 1, .stride = A.stride_first ? A.stride : 1,
                                  .bias = A.reduce_bias}>,
                   batch_norm, relu, Middle, conv<conv_args{.out = A.out, .kernel = 1, .bias = true}>, Tail...>,
               shortcut<A.out, A.stride>> {
  static constexpr std::string_view name = "preact_bottleneck";
};

template <bottleneck_args A, class... Tail>
struct preact_bottleneck : preact_bottleneck_of<A, bottleneck_3x3<A>, Tail...> {};

// ResNet50's unit by width and stride, for pre_act_resnet<> below.
template <int Width, int Stride>
struct preact_bottleneck_unit
    : preact_bottleneck<bottleneck_args{.width = Width, .out = 4 * Width, .stride = Stride}> {
  static constexpr int expansion = 4;
};

// ---- stages ---------------------------------------------------------------------------------

// The units per stage, e.g. stage_depths<3, 4, 6, 3>.
template <int... D>
struct stage_depths {
  static constexpr std::size_t count = sizeof...(D);
  static constexpr std::array<int, sizeof...(D)> value{D...};
  static constexpr int total = (0 + ... + D);
  // Index of each stage's first unit in the whole network.
  static constexpr std::array<int, sizeof...(D)> first = [] {
    std::array<int, sizeof...(D)> f{};
    int acc = 0;
    for (std::size_t i = 0; i < sizeof...(D); ++i) { f[i] = acc; acc += value[i]; }
    return f;
  }();
};

// A unit family says which unit sits where: `Family::template unit<Stage, Stride, Index>` is the
// type of the network's Index-th unit (from 0), in stage Stage (from 0), with its stride.
// Most families ignore Index; a per-unit drop-path rate needs it.
template <template <int, int> class Unit, int Base>
struct width_family {
  template <int Stage, int Stride, int Index> using unit = Unit<(Base << Stage), Stride>;
};

template <bottleneck_args Stage0, class... Tail>
struct bottleneck_family {
  template <int Stage, int Stride, int Index> using unit = preact_bottleneck<at_stage(Stage0, Stage, Stride), Tail...>;
};

namespace detail {
template <class Family, int Stage, int First>
struct family_stage {
  template <int I> using unit = typename Family::template unit<Stage, stage_stride(Stage, I), First + I>;
};
template <class Family, class Depths, std::size_t... S>
auto family_stages(std::index_sequence<S...>)
    -> seq<repeat<family_stage<Family, static_cast<int>(S), Depths::first[S]>::template unit, Depths::value[S]>...>;
template <class Stem, class Stages, class Head> struct splice_head;
template <class Stem, class Stages, class... H>
struct splice_head<Stem, Stages, seq<H...>> { using type = seq<Stem, Stages, H...>; };
}  // namespace detail

// Stem, one stage per entry of Depths (the first unit of every stage but the first strides 2),
// then the head's parts: seq<Stem, seq<stage...>, head parts...>.
template <class Stem, class Family, class Head, class Depths>
struct residual_network
    : detail::splice_head<Stem,
                          decltype(detail::family_stages<Family, Depths>(std::make_index_sequence<Depths::count>{})),
                          Head>::type {
  static_assert(Depths::count > 0, "cnnzoo: a residual network needs at least one stage");
};

// The pre-activation head: BN-act, global average pool, dense to the classes.
template <class Act = relu>
using preact_head = seq<bn_act<Act>, gap_dense<>>;

// ---- networks -------------------------------------------------------------------------------

// A pre-activation ResNet: stem, one stage per depth (widths Base, 2 Base, 4 Base, ...), head.
template <template <int, int> class Unit, int Base, int... Depths>
struct pre_act_resnet
    : residual_network<conv_bn_act<conv_args{.out = Base, .kernel = 3, .bias = true}>, width_family<Unit, Base>,
                       preact_head<>, stage_depths<Depths...>> {};

// ResNet50's body (stem c3-Base with bias, bottlenecks of width Base, 2 Base, ... with 4x outputs,
// head) with Tail... on every branch: the base of SE-ResNet50, CBAM-ResNet50 (Base = 64).
template <int Base, class Depths, class... Tail>
struct preact_bottleneck_resnet
    : residual_network<conv_bn_act<conv_args{.out = Base, .kernel = 3, .bias = true}>,
                       bottleneck_family<bottleneck_args{.width = Base, .out = 4 * Base}, Tail...>, preact_head<>,
                       Depths> {};

struct resnet18 : pre_act_resnet<preact_basic_unit, 64, 2, 2, 2, 2> {};
struct resnet50 : preact_bottleneck_resnet<64, stage_depths<3, 4, 6, 3>> {};

}  // namespace cnnzoo::models
