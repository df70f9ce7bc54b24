#pragma once
// CBAM-ResNet50.
//
// Paper: S. Woo, J. Park, J.-Y. Lee, I. S. Kweon, "CBAM: Convolutional Block Attention Module"
// (ECCV 2018). The module (layers/attention.hpp) refines a residual branch before the add:
// channel attention (global average and global max pools through one shared MLP 4c -> 4c/16 ->
// 4c with biases and ReLU, summed, sigmoid, multiply per channel), then spatial attention (the
// mean and the max over channels, a 7x7 conv 2 -> 1 with bias, sigmoid, multiply per pixel).
// The body is the seed's ResNet50 (resnet.hpp), with its 32x32 changes: a 3x3 stem, stages at
// 32, 16, 8 and 4 pixels (the 7x7 spatial convolution pads to "same" on the 4x4 maps), every
// convolution with a bias.
//
//   CBAM-ResNet50: 26,072,426 trainable, 26,117,994 with BatchNorm statistics.
#include "../layers/attention.hpp"
#include "resnet.hpp"

namespace cnnzoo::models {

// ResNet50's body at base width Base with a cbam<A> on every branch.
template <cbam_args A, int Base, class Depths>
struct cbam_resnet : preact_bottleneck_resnet<Base, Depths, cbam<A>> {};

struct cbam_resnet50 : cbam_resnet<cbam_args{}, 64, stage_depths<3, 4, 6, 3>> {};

}  // namespace cnnzoo::models
