#pragma once
// AlexNet.
//
// Paper: A. Krizhevsky, I. Sutskever, G. E. Hinton, "ImageNet Classification with Deep
// Convolutional Neural Networks" (NeurIPS 2012): five convolutions (96, 256, 384, 384, 256
// filters), three overlapping 3x3/2 max pools, two hidden fully connected layers with dropout 0.5.
// Changes for 32x32 inputs, as in the seed's CIFAR-10 code: every kernel is 3x3 with stride 1
// (the paper's 11x11/4 and 5x5 would leave nothing of a 32x32 image); the first two convolutions
// are 'valid' and followed by BatchNorm in place of local response normalisation; the last three
// are 'same' without BatchNorm; the map shrinks 32 -> 30 -> 14 -> 12 -> 5 -> 2, so the classifier
// sees 2x2x256 = 1,024 features; the hidden layers have 2,048 units (the paper's 4,096 halved);
// every convolution and dense layer has a bias.
//
//   AlexNet: 9,638,474 trainable, 9,639,178 with BatchNorm statistics.
#include "common.hpp"

namespace cnnzoo::models {

// conv3x3 'valid' (bias) -> BN -> ReLU -> max pool 3/2: the two normalised feature stages.
template <int Filters>
struct alexnet_valid_stage
    : seq<conv_bn_act<conv_args{.out = Filters, .kernel = 3, .pad = padding::valid, .bias = true}>,
          max_pool<3, 2>> {};

// conv3x3 'same' (bias) -> ReLU, no normalisation (the paper's conv3-conv5).
template <int Filters>
struct alexnet_conv : seq<conv<conv_args{.out = Filters, .kernel = 3, .bias = true}>, relu> {};

// dense (bias) -> ReLU -> dropout: one hidden layer of the classifier.
template <int Units, double Dropout>
struct alexnet_hidden : seq<dense<Units>, relu, dropout<Dropout>> {};

// C1..C5 filters of the five convolutions, Hidden units in each of the two hidden layers.
template <int C1, int C2, int C3, int C4, int C5, int Hidden, double Dropout = 0.5,
          int Classes = cifar10_classes>
struct alexnet_cifar
    : seq<alexnet_valid_stage<C1>, alexnet_valid_stage<C2>, alexnet_conv<C3>, alexnet_conv<C4>,
          alexnet_conv<C5>, max_pool<3, 2>, flatten, alexnet_hidden<Hidden, Dropout>,
          alexnet_hidden<Hidden, Dropout>, dense<Classes>> {};

struct alexnet : alexnet_cifar<96, 256, 384, 384, 256, 2048> {};

}  // namespace cnnzoo::models
