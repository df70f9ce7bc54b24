#pragma once
// A network of hybrid dilated convolutions.
//
// Paper: P. Wang, P. Chen, Y. Yuan, D. Liu, Z. Huang, X. Hou, G. Cottrell, "Understanding
// Convolution for Semantic Segmentation" (WACV 2018): consecutive 3x3 convolutions with dilation
// rates 1, 2, 3 (a rate pattern without a common factor, so the stacked receptive field has no
// holes: the "hybrid dilated convolution" that avoids gridding). The paper inserts such groups
// into a ResNet for segmentation; the seed's CIFAR-10 classifier is only these groups: five
// residual blocks at 16, 32, 64, 128 and 256 filters, with no stem and no downsampling at all
// (every block runs on the full 32x32 map), each block conv3x3 dil 1 -> BN -> ReLU, conv3x3 dil 2
// -> BN -> ReLU, conv3x3 dil 3, plus a 1x1 projection of its input, the sum followed by BN -> ReLU;
// then global average pool and dense. Every convolution has a bias.
//
//   DilatedConv: 2,014,538 trainable, 2,017,514 with BatchNorm statistics.
#include "common.hpp"

namespace cnnzoo::models {

// The three convolutions at dilations 1, 2, 3 ('same' padding keeps the map's size).
template <int Width>
struct hybrid_dilated_body
    : seq<conv_bn_act<conv_args{.out = Width, .kernel = 3, .dilation = 1, .bias = true}>,
          conv_bn_act<conv_args{.out = Width, .kernel = 3, .dilation = 2, .bias = true}>,
          conv<conv_args{.out = Width, .kernel = 3, .dilation = 3, .bias = true}>> {};

// body + 1x1 projection (bias), then BN -> ReLU on the sum (post-activation, unlike ResNet v2).
template <int Width>
struct hybrid_dilated_block
    : seq<residual<hybrid_dilated_body<Width>, conv<conv_args{.out = Width, .kernel = 1, .bias = true}>>,
          bn_act<>> {};

template <int... Widths>
struct dilated_net : seq<hybrid_dilated_block<Widths>..., gap_dense<>> {
  static_assert(sizeof...(Widths) > 0, "cnnzoo: a dilated network needs at least one block");
};

struct dilated_conv : dilated_net<16, 32, 64, 128, 256> {};

}  // namespace cnnzoo::models
