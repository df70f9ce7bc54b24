#pragma once
// Xception.
//
// Paper: F. Chollet, "Xception: Deep Learning with Depthwise Separable Convolutions" (CVPR 2017),
// figure 5: an entry flow of residual blocks of separable convolutions, each closed by a 3x3/2 max
// pool beside a 1x1 stride-2 projection; a middle flow of 8 identity-residual blocks of three
// ReLU-separable convolutions at 728 channels; an exit flow block (728 -> 1024) and two separable
// convolutions (1536, 2048) before global average pooling.
// Changes for 32x32 inputs, as in the seed's simplified version: the two-convolution stride-2
// stem becomes one 3x3 convolution of 64 filters (bias) + BN + ReLU; the entry flow is a single
// block (64 -> 182, 32 -> 16) instead of three; every width is the paper's divided by 4 (728 -> 182,
// exit block 1024 -> 256, last separable convolutions 1536 -> 384 and 2048 -> 512); the units are
// pre-activation (BN-ReLU before each separable convolution, where the paper has ReLU before and
// BN after); pools are 'same' (32 -> 16 -> 8). A separable convolution is a depthwise 3x3 without
// bias and a pointwise 1x1 with bias (Keras' SeparableConv2D, layers/separable.hpp); the
// projections have a bias.
//
//   Xception: 1,349,356 trainable, 1,362,108 with BatchNorm statistics.
#include "../layers/separable.hpp"
#include "common.hpp"

namespace cnnzoo::models {

// BN -> ReLU -> separable conv to Out channels.
template <int Out>
struct xception_sep : seq<batch_norm, relu, separable_conv<Out>> {};

// Entry and exit blocks: BN-R-sep(Mid)-BN-R-sep(Out)-BN-max pool 3/2, beside a 1x1 stride-2
// projection (bias) of the raw input.
template <int Mid, int Out>
struct xception_down_block
    : residual<seq<xception_sep<Mid>, xception_sep<Out>, batch_norm, max_pool<3, 2, padding::same>>,
               conv<conv_args{.out = Out, .kernel = 1, .stride = 2, .bias = true}>> {};

// Middle flow: three BN-R-sep(Width) plus the identity.
template <int Width>
struct xception_middle_block : residual<seq<xception_sep<Width>, xception_sep<Width>, xception_sep<Width>>> {};

namespace detail {
template <int Width>
struct xception_middle {
  template <int> using unit = xception_middle_block<Width>;
};
}  // namespace detail

// sep(Out) -> BN -> ReLU: the exit flow's last two convolutions.
template <int Out>
struct xception_sep_bn_act : seq<separable_conv<Out>, batch_norm, relu> {};

template <int Stem, int Width, int MiddleBlocks, int ExitWidth, int Head1, int Head2>
struct xception_net
    : seq<conv_bn_act<conv_args{.out = Stem, .kernel = 3, .bias = true}>, xception_down_block<Width, Width>,
          repeat<detail::xception_middle<Width>::template unit, MiddleBlocks>, xception_down_block<Width, ExitWidth>,
          xception_sep_bn_act<Head1>, xception_sep_bn_act<Head2>, gap_dense<>> {};

struct xception : xception_net<64, 728 / 4, 8, 256, 384, 512> {};

}  // namespace cnnzoo::models
