#pragma once
// Selective kernel networks.
//
// Paper: X. Li, W. Wang, X. Hu, J. Yang, "Selective Kernel Networks" (CVPR 2019). An SK unit
// (layers/selective_kernel.hpp) replaces the 3x3 of a ResNeXt bottleneck by two grouped
// branches with different receptive fields, fused by a per-channel attention that chooses
// between them. The seed's SKNet is "SKNet50" at half width, with its 32x32 changes: a 3x3 stem
// of 64 filters without bias + BN + ReLU (no 7x7/2, no max pool); pre-activation units [3, 4, 6,
// 3] at w = 64, 128, 256, 512 with outputs 2w: BN-R-1x1(w, no bias)-BN-R-SK(w, stride)-1x1(2w,
// bias), the first unit of each stage projecting its raw input with a 1x1 conv (bias). The SK
// unit: 32 groups, no bias, BN-ReLU on each branch; 3x3 and 3x3 dilated 2 at stride 1 (the
// paper's 5x5 as a dilated 3x3), 3x3 and 5x5 at stride 2; z = max(w / 16, 32); head BN-ReLU,
// global average pool, dense 10.
//
//   SKNet (the seed's, sknet):    6,687,946 trainable, 6,726,986 with BatchNorm statistics.
//   sknet_paper:                  the same parameters; the attention's softmax runs over the two
//                                 branches for each channel, as in the paper, instead of over the
//                                 channels of each branch, as in the seed's code.
#include "../layers/selective_kernel.hpp"
#include "resnet.hpp"

namespace cnnzoo::models {

struct sknet_args {
  int stem = 64;          // stem filters (no bias)
  int width = 64;         // SK width of stage 0; doubles per stage
  int expansion = 2;      // a unit outputs expansion x width channels
  int groups = 32;        // of the SK branches
  int reduction = 16;     // z = max(width / reduction, min_hidden)
  int min_hidden = 32;
  ops::softmax_over over = ops::softmax_over::channels;   // the seed's; groups: the paper's
};

template <sknet_args A>
struct sk_family {
  template <int Stage, int Stride, int Index>
  using unit = preact_bottleneck_of<
      bottleneck_args{.width = A.width << Stage, .out = (A.expansion * A.width) << Stage, .stride = Stride,
                      .stride_first = false, .reduce_bias = false},
      selective_kernel<sk_args{.stride = Stride, .groups = A.groups, .reduction = A.reduction,
                               .min_hidden = A.min_hidden, .over = A.over}>>;
};

template <sknet_args A, class Depths>
struct sknet_net
    : residual_network<conv_bn_act<conv_args{.out = A.stem, .kernel = 3}>, sk_family<A>, preact_head<>, Depths> {};

struct sknet : sknet_net<sknet_args{}, stage_depths<3, 4, 6, 3>> {};
struct sknet_paper : sknet_net<sknet_args{.over = ops::softmax_over::groups}, stage_depths<3, 4, 6, 3>> {};

}  // namespace cnnzoo::models
