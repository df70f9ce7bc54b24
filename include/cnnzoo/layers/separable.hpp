#pragma once
// Depthwise-separable convolution as Keras' SeparableConv2D builds it: a depthwise Kernel x Kernel
// convolution (one filter per input channel, stride Stride, no bias) followed by a pointwise 1x1
// convolution to Out channels with a bias. Xception's "sep", in the seed's words "depthwise 3x3 +
// pointwise with one bias". Parameters: c * Kernel^2 + c * Out + Out.
//
//   separable_conv<182>          separable_conv<256, 5, 2>
#include "../graph/seq.hpp"
#include "conv.hpp"

namespace cnnzoo {

template <int Out, int Kernel = 3, int Stride = 1>
using separable_conv = seq<conv<conv_args{.kernel = Kernel, .stride = Stride, .depthwise = true}>,
                           conv<conv_args{.out = Out, .kernel = 1, .bias = true}>>;

}  // namespace cnnzoo
