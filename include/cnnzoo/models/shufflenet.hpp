#pragma once
// ShuffleNet V2.
//
// Paper: N. Ma, X. Zhang, H.-T. Zheng, J. Sun, "ShuffleNet V2: Practical Guidelines for Efficient
// CNN Architecture Design" (ECCV 2018), the 1x network: stages of 116, 232, 464 channels with
// [4, 8, 4] units, the first unit of each stage halving the map. A stride-1 unit splits its input
// into halves, sends the first through 1x1-BN-ReLU, depthwise 3x3-BN, 1x1-BN-ReLU, keeps the
// second, concatenates and shuffles with 2 groups. A stride-2 unit sends the whole input down two
// branches (the same one with a strided depthwise conv, and depthwise 3x3 stride 2-BN, 1x1-BN-ReLU)
// and concatenates, doubling the width. No convolution has a bias.
//
// Changes for 32x32 CIFAR-10 inputs, as in the seed: the stem is one 3x3 conv of 24 filters
// (no bias) + BN + ReLU at stride 1 with no max pool, so the stages run at 16, 8 and 4 pixels;
// the head is a 1x1 conv to 1024 with neither BN nor activation, global average pool, dense 10.
// The seed also puts a ReLU after the side branch's depthwise conv (BN-ReLU), which the paper does
// not; shufflenet_v2 follows the seed, shufflenet_v2_paper the paper (same counts).
//
// The channel shuffle is the per-pixel transpose of layers/channels.hpp at every stride; the seed's
// reshape used the pre-stride height and width after stride-2 units (see channel_shuffle).
//
//   ShuffleNetV2: 1,261,806 trainable, 1,275,938 with BatchNorm statistics.
#include <array>
#include <utility>

#include "../layers/channels.hpp"
#include "common.hpp"

namespace cnnzoo::models {

struct shufflenet_args {
  int stem = 24;
  std::array<int, 3> widths{116, 232, 464};
  std::array<int, 3> depths{4, 8, 4};
  int head = 1024;
  bool side_relu = true;   // ReLU after the stride-2 side branch's depthwise conv (the seed's)
  int groups = 2;          // of the shuffle
};

// The branch both unit kinds share: 1x1-BN-ReLU, depthwise 3x3 (stride)-BN, 1x1-BN-ReLU.
template <int Width, int Stride>
using shuffle_branch = seq<conv_bn_act<conv_args{.out = Width, .kernel = 1}>,
                           conv<conv_args{.kernel = 3, .stride = Stride, .depthwise = true}>, batch_norm,
                           conv_bn_act<conv_args{.out = Width, .kernel = 1}>>;

// Stride 1: split, transform the first half, keep the second, concatenate, shuffle.
template <int Out, int Groups = 2>
struct shuffle_unit {
  static_assert(Out % 2 == 0, "cnnzoo: a ShuffleNet V2 unit's width must be even");
  template <shape In>
  struct bind : bind_t<seq<concat<seq<channel_slice<0, Out / 2>, shuffle_branch<Out / 2, 1>>,
                                  channel_slice<Out / 2, Out / 2>>,
                           channel_shuffle<Groups>>,
                       In> {
    static_assert(In.c == Out, "cnnzoo: a stride-1 ShuffleNet V2 unit keeps its width; only the first unit of a "
                               "stage (stride 2) changes it");
  };
};

// Stride 2: two branches over the whole input, concatenated to Out channels, shuffled.
template <int Out, bool SideRelu = true, int Groups = 2>
struct shuffle_down_unit
    : seq<concat<shuffle_branch<Out / 2, 2>,
                 seq<conv<conv_args{.kernel = 3, .stride = 2, .depthwise = true}>, batch_norm,
                     std::conditional_t<SideRelu, seq<relu, conv_bn_act<conv_args{.out = Out / 2, .kernel = 1}>>,
                                        conv_bn_act<conv_args{.out = Out / 2, .kernel = 1}>>>>,
          channel_shuffle<Groups>> {
  static_assert(Out % 2 == 0, "cnnzoo: a ShuffleNet V2 unit's width must be even");
};

namespace detail {
template <shufflenet_args A, std::size_t S>
struct shuffle_stage {
  template <int J>
  using unit = std::conditional_t<J == 0, shuffle_down_unit<A.widths[S], A.side_relu, A.groups>,
                                  shuffle_unit<A.widths[S], A.groups>>;
};
template <shufflenet_args A, std::size_t... S>
auto shuffle_stages(std::index_sequence<S...>) -> seq<repeat<shuffle_stage<A, S>::template unit, A.depths[S]>...>;
}  // namespace detail

template <shufflenet_args A>
struct shufflenet
    : seq<conv_bn_act<conv_args{.out = A.stem, .kernel = 3}>,
          decltype(detail::shuffle_stages<A>(std::make_index_sequence<A.widths.size()>{})),
          conv<conv_args{.out = A.head, .kernel = 1}>, gap_dense<>> {};

struct shufflenet_v2 : shufflenet<shufflenet_args{}> {};
struct shufflenet_v2_paper : shufflenet<shufflenet_args{.side_relu = false}> {};

}  // namespace cnnzoo::models
