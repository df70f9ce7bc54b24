#pragma once
// EfficientNet-B0.
//
// Paper: M. Tan, Q. V. Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural
// Networks" (ICML 2019), Table 1. MBConv blocks: 1x1 expansion to e x input width-BN-swish
// (omitted when e = 1), depthwise k x k (stride)-BN-swish, squeeze-excite with
// max(1, block input / 4) hidden units, biases, swish and a sigmoid gate, 1x1 projection-BN
// (linear); when stride 1 keeps the width, a residual add with drop-connect on the branch (per
// sample, rescaled by 1 / survival in training; survival 1 - 0.2 b / 16 for block b = 0..15).
// Stages (expand, width, repeats, kernel, stride): (1,16,1,3,1) (6,24,2,3,2) (6,40,2,5,2)
// (6,80,3,3,2) (6,112,3,5,1) (6,192,4,5,2) (6,320,1,3,1); stem 3x3-32 stride 2; head
// 1x1-1280-BN-swish, global average pool, dropout 0.2, dense. No convolution has a bias.
//
// Changes for 32x32 CIFAR-10 inputs: the stem has stride 1 (so the map goes 32 -> 16 -> 8 -> 4
// -> 2) and the classifier has 10 outputs. Nothing else is changed.
//
// The seed table's 3.45M cannot be reproduced by any configuration, and the seed's own code
// (expansion = output x e, strides never applied) gives 9,631,642 trainable. cnnzoo's target
// (zoo/models.tsv) is therefore the standard B0 above: 4,020,358 trainable, 4,062,374 with BatchNorm
// statistics. (Keras' EfficientNetB0 reports 4,062,381: its input Normalization layer adds 7
// non-trainable values, a mean and variance per RGB channel and a count, that cnnzoo does not have.)
#include <array>
#include <cstddef>

#include "../layers/drop_path.hpp"
#include "../layers/squeeze_excite.hpp"
#include "common.hpp"

namespace cnnzoo::models {

struct mbconv_args {
  int expand = 6, out = 0, kernel = 3, stride = 1;
  double survival = 1.0;   // drop-connect survival probability of the residual branch
};

template <mbconv_args B>
struct mbconv {
  template <shape In>
  struct bind_impl {
    static constexpr int mid = In.c * B.expand;
    static constexpr int squeeze = In.c / 4 > 1 ? In.c / 4 : 1;   // max(1, block input / 4)
    using expand = conv_bn_act<conv_args{.out = mid, .kernel = 1}, swish>;
    using rest = seq<conv<conv_args{.kernel = B.kernel, .stride = B.stride, .depthwise = true}>, batch_norm, swish,
                     squeeze_excite<se_args{.hidden = squeeze, .bias = true,
                                            .act = ops::activation::swish}>,
                     conv<conv_args{.out = B.out, .kernel = 1}>, batch_norm>;
    using body = std::conditional_t<B.expand == 1, rest, seq<expand, rest>>;
    static constexpr bool skip = B.stride == 1 && In.c == B.out;
    using type = std::conditional_t<skip,
                                    residual<seq<body, drop_path<drop_path_args{.survival = B.survival, .rescale = true}>>>,
                                    body>;
  };
  template <shape In>
  struct bind : bind_t<typename bind_impl<In>::type, In> {};
};

struct efficientnet_stage_args {
  int expand, out, repeats, kernel, stride;
};

namespace detail {
template <std::size_t N>
constexpr int total_blocks(const std::array<efficientnet_stage_args, N>& s) {
  int t = 0;
  for (const auto& x : s) t += x.repeats;
  return t;
}
// The arguments of block b (0-based over the whole network).
template <std::size_t N>
constexpr mbconv_args block_args(const std::array<efficientnet_stage_args, N>& s, int b, double drop_connect) {
  const int total = total_blocks(s);
  const int global = b;
  for (const auto& x : s) {
    if (b < x.repeats)
      return {x.expand, x.out, x.kernel, b == 0 ? x.stride : 1, 1.0 - drop_connect * global / total};
    b -= x.repeats;
  }
  return {};
}
template <auto Stages, double DropConnect>
struct mbconv_blocks {
  template <int B> using unit = mbconv<block_args(Stages, B, DropConnect)>;
};
}  // namespace detail

inline constexpr std::array<efficientnet_stage_args, 7> efficientnet_b0_stages{{
    {1, 16, 1, 3, 1}, {6, 24, 2, 3, 2}, {6, 40, 2, 5, 2}, {6, 80, 3, 3, 2},
    {6, 112, 3, 5, 1}, {6, 192, 4, 5, 2}, {6, 320, 1, 3, 1},
}};

// Stem width and stride, the stages, the head width, the classifier's dropout, the drop-connect
// rate of the last block (block b gets DropConnect * b / blocks).
template <int Stem, int StemStride, auto Stages, int Head = 1280, double Dropout = 0.2, double DropConnect = 0.2>
struct efficientnet
    : seq<conv_bn_act<conv_args{.out = Stem, .kernel = 3, .stride = StemStride}, swish>,
          repeat<detail::mbconv_blocks<Stages, DropConnect>::template unit, detail::total_blocks(Stages)>,
          conv_bn_act<conv_args{.out = Head, .kernel = 1}, swish>, gap_dropout_dense<Dropout>> {};

struct efficientnet_b0 : efficientnet<32, 1, efficientnet_b0_stages> {};

}  // namespace cnnzoo::models
