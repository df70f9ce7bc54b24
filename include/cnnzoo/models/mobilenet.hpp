#pragma once
// MobileNetV3.
//
// Paper: A. Howard et al., "Searching for MobileNetV3" (ICCV 2019). The inverted-residual block
// ("bneck"): 1x1 expansion-BN-act, depthwise k x k (stride)-BN, optional squeeze-excite on the
// expanded width (hidden = expansion / 4, hard-sigmoid gate), 1x1 projection-BN; a residual add
// when the block keeps stride 1 and its width. Activations are ReLU-family (RE) or h-swish (HS).
// No convolution has a bias.
//
// As in the seed, which adapts MobileNetV3-Large to 32x32 CIFAR-10 inputs: the stem is a 3x3 conv
// of 40 filters at stride 1 + BN + ReLU6; eleven blocks (below) with only two stride-2 blocks, so
// the map goes 32 -> 16 -> 8; "RE" is ReLU6 and the SE uses ReLU6 and no biases; the projection
// 1x1 is followed by BN *and the block's activation* (the paper's is linear); the head is
// 1x1-960-BN-HS, global average pool, dense 1280 (bias) + HS (no dropout), dense 10.
//
//   (out, expand, kernel, stride, SE, act): (40,120,5,1,Y,RE) x2, (80,240,3,2,N,HS),
//   (80,200,3,1,N,HS), (80,184,3,1,N,HS) x2, (112,480,3,1,Y,HS), (112,672,3,1,Y,HS),
//   (160,672,5,2,Y,HS), (160,960,5,1,Y,HS) x2
//
//   MobileNetV3: 4,190,922 trainable, 4,214,298 with BatchNorm statistics.
#include <array>
#include <cstddef>
#include <utility>

#include "../layers/squeeze_excite.hpp"
#include "common.hpp"

namespace cnnzoo::models {

struct bneck_args {
  int out = 0, expand = 0, kernel = 3, stride = 1;
  bool se = false;
  ops::activation act = ops::activation::relu6;
};

// The block body; residual when stride 1 and the width is kept (decided once the input is known).
template <bneck_args B>
struct bneck {
  using act = activation_layer<B.act>;
  using expand = conv_bn_act<conv_args{.out = B.expand, .kernel = 1}, act>;
  using depthwise = seq<conv<conv_args{.kernel = B.kernel, .stride = B.stride, .depthwise = true}>, batch_norm>;
  using excite = squeeze_excite<se_args{.reduction = 4, .act = ops::activation::relu6,
                                        .gate = ops::activation::hard_sigmoid}>;
  using project = conv_bn_act<conv_args{.out = B.out, .kernel = 1}, act>;
  using body = std::conditional_t<B.se, seq<expand, depthwise, excite, project>, seq<expand, depthwise, project>>;

  template <shape In>
  struct bind : std::conditional_t<B.stride == 1 && In.c == B.out, bind_t<residual<body>, In>, bind_t<body, In>> {};
};

namespace detail {
template <auto Blocks>
struct bneck_stage {
  template <int I> using unit = bneck<Blocks[static_cast<std::size_t>(I)]>;
};
}  // namespace detail

// Stem width (3x3, BN, ReLU6), the blocks (a std::array of bneck_args), the head's 1x1 width and
// its dense width.
template <int Stem, auto Blocks, int Head = 960, int Dense = 1280>
struct mobilenet_v3_net
    : seq<conv_bn_act<conv_args{.out = Stem, .kernel = 3}, relu6>,
          repeat<detail::bneck_stage<Blocks>::template unit, static_cast<int>(Blocks.size())>,
          conv_bn_act<conv_args{.out = Head, .kernel = 1}, hard_swish>, global_avg_pool, dense<Dense>, hard_swish,
          dense<cifar10_classes>> {};

inline constexpr std::array<bneck_args, 11> mobilenet_v3_seed_blocks = [] {
  constexpr auto re = ops::activation::relu6, hs = ops::activation::hard_swish;
  return std::array<bneck_args, 11>{{
      {40, 120, 5, 1, true, re},  {40, 120, 5, 1, true, re},  {80, 240, 3, 2, false, hs},
      {80, 200, 3, 1, false, hs}, {80, 184, 3, 1, false, hs}, {80, 184, 3, 1, false, hs},
      {112, 480, 3, 1, true, hs}, {112, 672, 3, 1, true, hs}, {160, 672, 5, 2, true, hs},
      {160, 960, 5, 1, true, hs}, {160, 960, 5, 1, true, hs},
  }};
}();

struct mobilenet_v3 : mobilenet_v3_net<40, mobilenet_v3_seed_blocks> {};

}  // namespace cnnzoo::models
