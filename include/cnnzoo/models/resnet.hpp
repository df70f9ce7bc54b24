#pragma once
// Pre-activation residual networks.
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
#include "common.hpp"

namespace cnnzoo::models {

// BN-ReLU-conv3x3(stride)-BN-ReLU-conv3x3, plus the shortcut.
template <int Width, int Stride>
struct preact_basic_unit
    : residual<seq<batch_norm, relu, conv<conv_args{.out = Width, .kernel = 3, .stride = Stride, .bias = true}>,
                   batch_norm, relu, conv<conv_args{.out = Width, .kernel = 3, .bias = true}>>,
               shortcut<Width, Stride>> {
  static constexpr int expansion = 1;
};

// BN-ReLU-conv1x1(stride)-BN-ReLU-conv3x3-BN-ReLU-conv1x1(4 x width), plus the shortcut; the
// seed strides on the first 1x1 (the original ResNet v1 placement).
template <int Width, int Stride>
struct preact_bottleneck_unit
    : residual<seq<batch_norm, relu, conv<conv_args{.out = Width, .kernel = 1, .stride = Stride, .bias = true}>,
                   batch_norm, relu, conv<conv_args{.out = Width, .kernel = 3, .bias = true}>, batch_norm, relu,
                   conv<conv_args{.out = 4 * Width, .kernel = 1, .bias = true}>>,
               shortcut<4 * Width, Stride>> {
  static constexpr int expansion = 4;
};

namespace detail {
template <template <int, int> class Unit, int Width, int FirstStride>
struct resnet_stage {
  template <int I> using unit = Unit<Width, I == 0 ? FirstStride : 1>;
};
template <template <int, int> class Unit, int Base, std::size_t... S, class Depths>
auto resnet_stages(std::index_sequence<S...>, Depths)
    -> seq<repeat<resnet_stage<Unit, (Base << S), stage_stride(static_cast<int>(S), 0)>::template unit,
                  Depths::value[S]>...>;
template <int... D> struct depth_list { static constexpr std::array<int, sizeof...(D)> value{D...}; };
}  // namespace detail

// A pre-activation ResNet: stem, one stage per depth (widths Base, 2 Base, 4 Base, ...), head.
template <template <int, int> class Unit, int Base, int... Depths>
struct pre_act_resnet
    : seq<conv_bn_act<conv_args{.out = Base, .kernel = 3, .bias = true}>,
          decltype(detail::resnet_stages<Unit, Base>(std::make_index_sequence<sizeof...(Depths)>{},
                                                     detail::depth_list<Depths...>{})),
          bn_act<>, gap_dense<>> {};

struct resnet18 : pre_act_resnet<preact_basic_unit, 64, 2, 2, 2, 2> {};
struct resnet50 : pre_act_resnet<preact_bottleneck_unit, 64, 3, 4, 6, 3> {};

}  // namespace cnnzoo::models
