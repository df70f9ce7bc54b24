#pragma once
// Wide residual networks.
//
// Paper: S. Zagoruyko, N. Komodakis, "Wide Residual Networks" (BMVC 2016): pre-activation basic
// units widened k times, dropout between the two convolutions. WRN-d-k has (d - 4) / 6 units per
// stage at 16k, 32k, 64k channels on 32, 16, 8 pixels. As in the seed: a 3x3 stem of 16 filters
// (bias) + BN + ReLU; every convolution has a bias; the first unit of each stage projects its raw
// input with a 1x1 conv (bias); dropout 0.3; the head is BN-ReLU, global average pool, dense 10.
//
//   WideResNet (28-10): 36,489,322 trainable, 36,507,306 with BatchNorm statistics.
//
// wide_resnet_net<wide_resnet_args, Tail...> is the parametric form: stem width and bias, the
// activation, the dropout rate, and parts appended to every branch before the add. SE-WideResNet
// (senet.hpp) is WRN-28-10 with a 64-filter stem without bias, swish, dropout 0.2 and a
// squeeze-excite on every branch.
#include "resnet.hpp"

namespace cnnzoo::models {

template <int Width, int Stride, class Act = relu, double Dropout = 0.3, class... Tail>
struct wide_unit
    : residual<seq<batch_norm, Act, conv<conv_args{.out = Width, .kernel = 3, .stride = Stride, .bias = true}>,
                   batch_norm, Act, dropout<Dropout>, conv<conv_args{.out = Width, .kernel = 3, .bias = true}>,
                   Tail...>,
               shortcut<Width, Stride>> {
  static constexpr std::string_view name = "wide_unit";
};

struct wide_resnet_args {
  int depth = 28;         // 6n + 4: n units per stage
  int widen = 10;         // k: stages at 16k, 32k, 64k channels
  int stem = 16;          // stem filters
  bool stem_bias = true;
  ops::activation act = ops::activation::relu;   // everywhere: stem, units, head
  double dropout = 0.3;   // between each unit's convolutions
};

template <wide_resnet_args A, class... Tail>
struct wide_family {
  template <int Stage, int Stride, int Index>
  using unit = wide_unit<(16 * A.widen) << Stage, Stride, activation_layer<A.act>, A.dropout, Tail...>;
};

template <wide_resnet_args A, class... Tail>
struct wide_resnet_net
    : residual_network<conv_bn_act<conv_args{.out = A.stem, .kernel = 3, .bias = A.stem_bias}, activation_layer<A.act>>,
                       wide_family<A, Tail...>, preact_head<activation_layer<A.act>>,
                       stage_depths<(A.depth - 4) / 6, (A.depth - 4) / 6, (A.depth - 4) / 6>> {
  static_assert((A.depth - 4) % 6 == 0 && A.depth > 4,
                "cnnzoo: a wide ResNet's depth must be 6n + 4 (e.g. 16, 22, 28, 40)");
  static_assert(A.widen > 0, "cnnzoo: a wide ResNet's widening factor must be positive");
};

template <int Depth, int Width>
struct wide_resnet : wide_resnet_net<wide_resnet_args{.depth = Depth, .widen = Width}> {};

using wide_resnet_28_10 = wide_resnet<28, 10>;

}  // namespace cnnzoo::models
