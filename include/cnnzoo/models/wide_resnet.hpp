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
#include "common.hpp"

namespace cnnzoo::models {

template <int Width, int Stride, class Act = relu, double Dropout = 0.3>
struct wide_unit
    : residual<seq<batch_norm, Act, conv<conv_args{.out = Width, .kernel = 3, .stride = Stride, .bias = true}>,
                   batch_norm, Act, dropout<Dropout>, conv<conv_args{.out = Width, .kernel = 3, .bias = true}>>,
               shortcut<Width, Stride>> {};

namespace detail {
template <int Width, int FirstStride>
struct wide_stage {
  template <int I> using unit = wide_unit<Width, I == 0 ? FirstStride : 1>;
};
}  // namespace detail

template <int Depth, int Width>
struct wide_resnet
    : seq<conv_bn_act<conv_args{.out = 16, .kernel = 3, .bias = true}>,
          repeat<detail::wide_stage<16 * Width, 1>::template unit, (Depth - 4) / 6>,
          repeat<detail::wide_stage<32 * Width, 2>::template unit, (Depth - 4) / 6>,
          repeat<detail::wide_stage<64 * Width, 2>::template unit, (Depth - 4) / 6>, bn_act<>, gap_dense<>> {
  static_assert((Depth - 4) % 6 == 0, "cnnzoo: a wide ResNet's depth must be 6n + 4 (e.g. 16, 22, 28, 40)");
  static_assert(Width > 0, "cnnzoo: a wide ResNet's widening factor must be positive");
};

using wide_resnet_28_10 = wide_resnet<28, 10>;

}  // namespace cnnzoo::models
