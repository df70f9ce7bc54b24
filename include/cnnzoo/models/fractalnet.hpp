#pragma once
// FractalNet.
//
// Paper: G. Larsson, M. Maire, G. Shakhnarovich, "FractalNet: Ultra-Deep Neural Networks without
// Residuals" (ICLR 2017). The fractal expansion rule: f_1(z) = conv(z),
// f_{C+1}(z) = join(f_C(f_C(z)), conv(z)), where conv is conv3x3-BN-ReLU and join an elementwise
// mean. B blocks, each f_C followed by a 2x2 max pool; the paper's CIFAR network has B = 5,
// C = 3 and widths 64, 128, 256, 512, 512, so 32x32 inputs already reach 1x1. As in the seed: every
// join is a pairwise mean as the recursion writes it (the paper averages all columns that meet at a
// join, so its deepest joins weigh columns differently); no drop-path; every convolution has a
// bias; after the last pool a dense layer reads the 1x1x512 map.
//
//   FractalNet: 33,734,922 trainable, 33,755,530 with BatchNorm statistics.
#include "common.hpp"

namespace cnnzoo::models {

// conv3x3 (bias) -> BN -> ReLU at Width filters, the fractal's only layer.
template <int Width>
struct fractal_conv : conv_bn_act<conv_args{.out = Width, .kernel = 3, .bias = true}> {};

// f_C at Width filters: 2^C - 1 convolutions, the longest column C deep.
template <int Columns, int Width>
struct fractal
    : mean_join<seq<fractal<Columns - 1, Width>, fractal<Columns - 1, Width>>, fractal_conv<Width>> {
  static_assert(Columns >= 1, "cnnzoo: a fractal needs at least one column");
};
template <int Width>
struct fractal<1, Width> : fractal_conv<Width> {};

// One block: f_C, then a 2x2 max pool.
template <int Columns, int Width>
struct fractal_block : seq<fractal<Columns, Width>, max_pool<2>> {};

template <int Columns, int... Widths>
struct fractal_net : seq<fractal_block<Columns, Widths>..., flatten, dense<cifar10_classes>> {};

struct fractalnet : fractal_net<3, 64, 128, 256, 512, 512> {};

}  // namespace cnnzoo::models
