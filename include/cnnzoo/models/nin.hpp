#pragma once
// Network in Network.
//
// Paper: M. Lin, Q. Chen, S. Yan, "Network In Network" (ICLR 2014): three mlpconv layers (a
// spatial convolution followed by two 1x1 convolutions, the "micro network"), max pooling and
// dropout between them, and global average pooling over one map per class in place of fully
// connected layers. The paper's CIFAR-10 model already takes 32x32 inputs; as in the seed, every
// convolution has a bias and is followed by BatchNorm and ReLU (the paper has no BatchNorm), the
// pools are 3x3/2 'same' (32 -> 16 -> 8), and the last 1x1 convolution's 10 maps are ReLU'd
// before the average pool.
//
//   NIN: 969,822 trainable, 972,658 with BatchNorm statistics.
#include "common.hpp"

namespace cnnzoo::models {

// One mlpconv layer: a Kernel x Kernel convolution to C0 maps, then 1x1 convolutions to C1 and C2,
// each conv (bias) -> BN -> ReLU.
template <int Kernel, int C0, int C1, int C2>
struct mlpconv : seq<conv_bn_act<conv_args{.out = C0, .kernel = Kernel, .bias = true}>,
                     conv_bn_act<conv_args{.out = C1, .kernel = 1, .bias = true}>,
                     conv_bn_act<conv_args{.out = C2, .kernel = 1, .bias = true}>> {};

// Max pool 3x3/2 'same' -> dropout, between mlpconv layers.
template <double Dropout>
struct nin_downsample : seq<max_pool<3, 2, padding::same>, dropout<Dropout>> {};

// Three mlpconv layers; the last one's C2 must be the number of classes.
template <class Mlp1, class Mlp2, class Mlp3, double Dropout = 0.5>
struct network_in_network
    : seq<Mlp1, nin_downsample<Dropout>, Mlp2, nin_downsample<Dropout>, Mlp3, global_avg_pool> {};

struct nin : network_in_network<mlpconv<5, 192, 160, 96>, mlpconv<5, 192, 192, 192>,
                                 mlpconv<3, 192, 192, cifar10_classes>> {};

}  // namespace cnnzoo::models
