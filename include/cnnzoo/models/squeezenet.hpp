#pragma once
// SqueezeNet.
//
// Paper: F. N. Iandola, S. Han, M. W. Moskewicz, K. Ashraf, W. J. Dally, K. Keutzer, "SqueezeNet:
// AlexNet-level accuracy with 50x fewer parameters and <0.5MB model size" (2016). Fire module:
// a 1x1 "squeeze" to s channels, then 1x1 and 3x3 "expands" of 4s channels each, concatenated;
// eight Fire modules with squeeze widths 16, 16, 32, 32, 48, 48, 64, 64; dropout 0.5; a 1x1
// convolution to the classes and global average pooling; the "simple bypass" variant adds an
// identity shortcut around every second Fire module. Changes for 32x32 inputs, as in the seed: the
// 7x7/2 stem of 96 filters becomes a 3x3 convolution of 64 filters (stride 1) and ReLU; the three
// 3x3/2 max pools (after conv1, fire4, fire8) become 2x2/2 pools after the stem and after the first
// two Fire pairs (32 -> 16 -> 8 -> 4); no BatchNorm anywhere (none in the paper either);
// every convolution has a bias; the 10 class maps are ReLU'd before the average pool.
//
//   SqueezeNet: 727,626 trainable and Keras total (no BatchNorm).
#include "common.hpp"

namespace cnnzoo::models {

// conv (bias) -> ReLU.
template <int Out, int Kernel>
struct squeeze_conv : seq<conv<conv_args{.out = Out, .kernel = Kernel, .bias = true}>, relu> {};

// Fire(s): squeeze 1x1 to S, then [expand 1x1 to 4S, expand 3x3 to 4S]: 8S channels out.
template <int S>
struct fire : seq<squeeze_conv<S, 1>, concat<squeeze_conv<4 * S, 1>, squeeze_conv<4 * S, 3>>> {};

// Two Fire modules of squeeze width S, the second with an identity bypass (its input already has
// the 8S channels it outputs).
template <int S>
struct fire_pair : seq<fire<S>, residual<fire<S>>> {};

// Stem, the body (Fire pairs and pools), dropout, the 1x1 classifier, ReLU, global average pool.
template <int Stem, class... Body>
struct squeeze_net : seq<squeeze_conv<Stem, 3>, max_pool<2>, Body..., dropout<0.5>,
                         squeeze_conv<cifar10_classes, 1>, global_avg_pool> {};

struct squeezenet : squeeze_net<64, fire_pair<16>, max_pool<2>, fire_pair<32>, max_pool<2>, fire_pair<48>,
                                fire_pair<64>> {};

}  // namespace cnnzoo::models
