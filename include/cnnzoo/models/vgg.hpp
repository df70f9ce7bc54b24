#pragma once
// VGG.
//
// Paper: K. Simonyan, A. Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
// Recognition" (ICLR 2015), configuration D (VGG16): 13 3x3 convolutions in five stages of 64,
// 128, 256, 512, 512 filters, each stage closed by a 2x2 max pool, then two hidden fully connected
// layers of 4,096 units with dropout 0.5. Changes, as in the seed: BatchNorm after every
// convolution and after both hidden dense layers (the paper has none); five 2x2 pools take 32x32
// to 1x1, so the classifier sees 512 features instead of 7x7x512; every convolution and dense
// layer has a bias.
//
//   VGG16: 33,663,050 trainable, 33,687,882 with BatchNorm statistics.
#include "common.hpp"

namespace cnnzoo::models {

namespace detail {
template <int Width>
struct vgg_conv {
  template <int> using unit = conv_bn_act<conv_args{.out = Width, .kernel = 3, .bias = true}>;
};
}  // namespace detail

// Convs x (conv3x3 (bias) -> BN -> ReLU) at Width filters, then a 2x2 max pool.
template <int Width, int Convs>
struct vgg_stage : seq<repeat<detail::vgg_conv<Width>::template unit, Convs>, max_pool<2>> {
  static_assert(Convs > 0, "cnnzoo: a VGG stage needs at least one convolution");
};

// dense (bias) -> BN -> ReLU -> dropout.
template <int Units, double Dropout>
struct vgg_hidden : seq<dense<Units>, batch_norm, relu, dropout<Dropout>> {};

// The stages, then flatten and two hidden layers of Hidden units.
template <int Hidden, class... Stages>
struct vgg : seq<Stages..., flatten, vgg_hidden<Hidden, 0.5>, vgg_hidden<Hidden, 0.5>, dense<cifar10_classes>> {};

struct vgg16 : vgg<4096, vgg_stage<64, 2>, vgg_stage<128, 2>, vgg_stage<256, 3>, vgg_stage<512, 3>,
                   vgg_stage<512, 3>> {};

}  // namespace cnnzoo::models
