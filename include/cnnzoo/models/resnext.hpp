#pragma once
// ResNeXt: aggregated residual transformations.
//
// Paper: S. Xie, R. Girshick, P. Dollar, Z. Tu, K. He, "Aggregated Residual Transformations for
// Deep Neural Networks" (CVPR 2017), the bottleneck with a grouped 3x3 (form (c) of its Fig. 3).
// ResNeXt-50 (32x4d): 32 groups of 4 channels in stage 0, so the grouped width is 128, 256, 512,
// 1024 over the four stages and the output twice that. Changes for 32x32 inputs, as in the seed:
// a 3x3 stem of 64 filters without bias + BN + ReLU (no 7x7/2, no max pool), so the stages run at
// 32, 16, 8, 4 pixels; the units are pre-activation, BN-R-1x1(w, no bias)-BN-R-grouped 3x3(w,
// bias, stride)-BN-R-1x1(2w, bias), the stride on the 3x3; the first unit of every stage
// projects its raw input with a 1x1 conv (bias); the head is BN-ReLU, global average pool,
// dense 10.
//
//   ResNeXt50 (32x4d): 23,011,658 trainable, 23,072,330 with BatchNorm statistics.
//
// README.md's model table marks this row: the seed's table says 23.11M, its own code gives 23.07M (-0.17%).
// The integers above are the code's; SE-ResNeXt50, the same body plus squeeze-excite, matches
// its table entry exactly, so the table's ResNeXt50 figure looks stale.
//
// resnext_net<resnext_args, Depths, Tail...> also builds SE-ResNeXt50 and SENet154 (senet.hpp).
#include "resnet.hpp"

namespace cnnzoo::models {

struct resnext_args {
  int stem = 64;          // stem filters (no bias)
  int width = 128;        // grouped width of stage 0 (cardinality x group width); doubles per stage
  int expansion = 2;      // a unit outputs expansion x width channels
  int cardinality = 32;   // groups of the 3x3
};

template <resnext_args A>
inline constexpr bottleneck_args resnext_stage0{.width = A.width, .out = A.expansion * A.width, .stride = 1,
                                                .groups = A.cardinality, .stride_first = false,
                                                .reduce_bias = false};

template <resnext_args A, class Depths, class... Tail>
struct resnext_net
    : residual_network<conv_bn_act<conv_args{.out = A.stem, .kernel = 3}>, bottleneck_family<resnext_stage0<A>, Tail...>,
                       preact_head<>, Depths> {
  static_assert(A.width % A.cardinality == 0, "cnnzoo: a ResNeXt's width must be a multiple of its cardinality");
};

struct resnext50 : resnext_net<resnext_args{}, stage_depths<3, 4, 6, 3>> {};

}  // namespace cnnzoo::models
