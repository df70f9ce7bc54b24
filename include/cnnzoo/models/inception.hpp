#pragma once
// Inception V1 to V4, in the seed's "simplified" CIFAR-10 form.
//
// Papers:
//   V1: C. Szegedy et al., "Going Deeper with Convolutions" (CVPR 2015), GoogLeNet's modules
//       [1x1; 1x1 -> 3x3; 1x1 -> 5x5; max pool 3/1 -> 1x1] (table 1).
//   V2: S. Ioffe, C. Szegedy, "Batch Normalization" (ICML 2015), the BN-Inception network: the
//       5x5 branch becomes two 3x3s, some pool branches average, and two reduction modules
//       (stride-2 branches beside a max pool, no 1x1 branch) replace the separate pools.
//   V3: C. Szegedy et al., "Rethinking the Inception Architecture" (CVPR 2016): modules A
//       (two 3x3s), B (n x n factorised into 1xn and nx1), C (split 1x3 / 3x1 heads), reductions.
//   V4: C. Szegedy et al., "Inception-v4, Inception-ResNet and the Impact of Residual
//       Connections" (AAAI 2017), figures 4 to 8: A x4, reduction A, B x7 (1x7 / 7x1),
//       reduction B, C x3.
// Changes for 32x32 inputs, as in the seed: the stems are one 3x3 convolution of 32 filters;
// every convolution is conv (bias) -> BN -> ReLU; V1 keeps GoogLeNet's module sequence with every
// width divided by 4 and its two stride-2 max pools 'same' (32 -> 16 -> 8), without the auxiliary
// classifiers; V2 uses its own narrow widths, with 'same' stride-2 reductions (32 -> 16 -> 8);
// V3's widths are the seed's, its reductions 'valid' (32 -> 15 -> 7); V4 uses the paper's widths
// divided by 4 (rounded down) and 'valid' reductions (32 -> 15 -> 7). Average-pool branches are
// 3x3/1 'same' and average only in-image pixels (Keras' rule). Each network ends in global
// average pooling, dropout (0.4; V4 0.2) and a dense layer.
//
//   InceptionV1:   370,694 trainable,   374,222 with BatchNorm statistics.
//   InceptionV2:   642,162 trainable,   647,074
//   InceptionV3: 1,162,670 trainable, 1,171,142
//   InceptionV4: 2,552,458 trainable, 2,567,882
#include "common.hpp"

namespace cnnzoo::models {

// conv (bias) -> BN -> ReLU with a Kh x Kw kernel: the one convolution of every Inception module.
template <int Out, int Kh = 1, int Kw = Kh, int Stride = 1, padding Pad = padding::same>
struct inception_conv
    : conv_bn_act<conv_args{.out = Out, .kernel = Kh, .kernel_w = Kw, .stride = Stride, .pad = Pad, .bias = true}> {};

// A stride-2 3x3 convolution, 'same' (V2) or 'valid' (V3, V4).
template <int Out, padding Pad>
using inception_reduce_conv = inception_conv<Out, 3, 3, 2, Pad>;

// The 3x3/1 'same' pool that opens a module's pool branch.
template <ops::pool_kind Kind>
using inception_branch_pool = pool<Kind, 3, 1, padding::same>;

// The 3x3/2 pool branch of a reduction module, 'same' or 'valid' like the module's convolutions.
template <padding Pad>
using inception_reduce_pool = max_pool<3, 2, Pad>;

// ---- V1 ------------------------------------------------------------------------------------------

// GoogLeNet module: [1x1 A; 1x1 B1 -> 3x3 B2; 1x1 C1 -> 5x5 C2; max pool 3/1 -> 1x1 D].
template <int A, int B1, int B2, int C1, int C2, int D>
struct inception_v1_block
    : concat<inception_conv<A>, seq<inception_conv<B1>, inception_conv<B2, 3>>,
             seq<inception_conv<C1>, inception_conv<C2, 5>>,
             seq<inception_branch_pool<ops::pool_kind::max>, inception_conv<D>>> {};

// ---- V2, V3, V4 --------------------------------------------------------------------------------

// Module A of V2 to V4: [1x1 A; 1x1 B1 -> 3x3 B2; 1x1 C1 -> 3x3 C2 -> 3x3 C3; pool 3/1 -> 1x1 D].
template <int A, int B1, int B2, int C1, int C2, int C3, int D, ops::pool_kind Pool = ops::pool_kind::avg>
struct inception_a_block
    : concat<inception_conv<A>, seq<inception_conv<B1>, inception_conv<B2, 3>>,
             seq<inception_conv<C1>, inception_conv<C2, 3>, inception_conv<C3, 3>>,
             seq<inception_branch_pool<Pool>, inception_conv<D>>> {};

// The seed writes V2's modules as (a, b1, b2, c1, c2, d): both 3x3s of the third branch at C2.
template <int A, int B1, int B2, int C1, int C2, int D, ops::pool_kind Pool = ops::pool_kind::avg>
using inception_v2_block = inception_a_block<A, B1, B2, C1, C2, C2, D, Pool>;

// Reduction of V2 and V3: [1x1 B1 -> 3x3/2 B2; 1x1 C1 -> 3x3 C2 -> 3x3/2 C2; max pool 3/2];
// the input passes through the pool, so the output has B2 + C2 + input channels.
template <int B1, int B2, int C1, int C2, padding Pad>
struct inception_reduction
    : concat<seq<inception_conv<B1>, inception_reduce_conv<B2, Pad>>,
             seq<inception_conv<C1>, inception_conv<C2, 3>, inception_reduce_conv<C2, Pad>>,
             inception_reduce_pool<Pad>> {};

// Module B of V3 (K = 3) and V4 (K = 7), an n x n convolution factorised into 1xK and Kx1:
// [1x1 A; 1x1 B1 -> 1xK B2 -> Kx1 B3; 1x1 C1 -> 1xK C2 -> Kx1 C3 -> 1xK C4 -> Kx1 C5;
//  avg pool 3/1 -> 1x1 D].
template <int K, int A, int B1, int B2, int B3, int C1, int C2, int C3, int C4, int C5, int D>
struct inception_factorized_block
    : concat<inception_conv<A>, seq<inception_conv<B1>, inception_conv<B2, 1, K>, inception_conv<B3, K, 1>>,
             seq<inception_conv<C1>, inception_conv<C2, 1, K>, inception_conv<C3, K, 1>,
                 inception_conv<C4, 1, K>, inception_conv<C5, K, 1>>,
             seq<inception_branch_pool<ops::pool_kind::avg>, inception_conv<D>>> {};

// Split head: 1x3 to Left and 3x1 to Right side by side on the same input.
template <int Left, int Right>
struct inception_split : concat<inception_conv<Left, 1, 3>, inception_conv<Right, 3, 1>> {};

// Module C of V3: [1x1 A; 1x1 B1 -> split(B2, B2); 1x1 C1 -> 3x3 C2 -> split(C2, C2);
// avg pool 3/1 -> 1x1 D]: A + 2 B2 + 2 C2 + D channels.
template <int A, int B1, int B2, int C1, int C2, int D>
struct inception_v3_c_block
    : concat<inception_conv<A>, seq<inception_conv<B1>, inception_split<B2, B2>>,
             seq<inception_conv<C1>, inception_conv<C2, 3>, inception_split<C2, C2>>,
             seq<inception_branch_pool<ops::pool_kind::avg>, inception_conv<D>>> {};

// Inception-v4 reduction A (figure 7): [3x3/2 A; 1x1 B1 -> 3x3 B2 -> 3x3/2 B3; max pool 3/2].
template <int A, int B1, int B2, int B3>
struct inception_v4_reduction_a
    : concat<inception_reduce_conv<A, padding::valid>,
             seq<inception_conv<B1>, inception_conv<B2, 3>, inception_reduce_conv<B3, padding::valid>>,
             inception_reduce_pool<padding::valid>> {};

// Inception-v4 reduction B (figure 8): [1x1 A1 -> 3x3/2 A2; 1x1 B1 -> 1x7 B2 -> 7x1 B3 ->
// 3x3/2 B4; max pool 3/2].
template <int A1, int A2, int B1, int B2, int B3, int B4>
struct inception_v4_reduction_b
    : concat<seq<inception_conv<A1>, inception_reduce_conv<A2, padding::valid>>,
             seq<inception_conv<B1>, inception_conv<B2, 1, 7>, inception_conv<B3, 7, 1>,
                 inception_reduce_conv<B4, padding::valid>>,
             inception_reduce_pool<padding::valid>> {};

// Inception-v4 module C (figure 6): [1x1 A; 1x1 B1 -> split(B2, B3); 1x1 C1 -> 1x3 C2 -> 3x1 C3
// -> split(C4, C5); avg pool 3/1 -> 1x1 D].
template <int A, int B1, int B2, int B3, int C1, int C2, int C3, int C4, int C5, int D>
struct inception_v4_c_block
    : concat<inception_conv<A>, seq<inception_conv<B1>, inception_split<B2, B3>>,
             seq<inception_conv<C1>, inception_conv<C2, 1, 3>, inception_conv<C3, 3, 1>, inception_split<C4, C5>>,
             seq<inception_branch_pool<ops::pool_kind::avg>, inception_conv<D>>> {};

// ---- networks ------------------------------------------------------------------------------------

// Every Inception network here: a 3x3 stem of Stem filters, the modules (and pools) in order,
// global average pool, dropout, dense.
template <int Stem, double Dropout, class... Blocks>
struct inception_net : seq<inception_conv<Stem, 3>, Blocks..., gap_dropout_dense<Dropout>> {};

using inception_v1_pool = max_pool<3, 2, padding::same>;

struct inception_v1
    : inception_net<32, 0.4, inception_v1_block<16, 24, 32, 4, 8, 8>, inception_v1_block<32, 32, 48, 8, 16, 16>,
                    inception_v1_pool, inception_v1_block<48, 24, 52, 4, 12, 16>,
                    inception_v1_block<40, 28, 56, 6, 16, 16>, inception_v1_block<32, 32, 64, 6, 16, 16>,
                    inception_v1_block<28, 36, 72, 8, 16, 16>, inception_v1_block<64, 40, 80, 8, 32, 32>,
                    inception_v1_pool, inception_v1_block<64, 40, 80, 8, 32, 32>,
                    inception_v1_block<96, 48, 96, 12, 32, 32>> {};

struct inception_v2
    : inception_net<32, 0.4, inception_v2_block<16, 16, 16, 16, 24, 8>, inception_v2_block<16, 16, 24, 16, 24, 16>,
                    inception_reduction<32, 40, 16, 24, padding::same>,
                    inception_v2_block<56, 16, 24, 24, 32, 32>, inception_v2_block<48, 24, 32, 24, 32, 32>,
                    inception_v2_block<40, 32, 40, 32, 40, 32>, inception_v2_block<24, 32, 48, 40, 48, 32>,
                    inception_reduction<32, 48, 48, 64, padding::same>,
                    inception_v2_block<88, 48, 80, 40, 56, 32>,
                    inception_v2_block<88, 48, 80, 48, 56, 32, ops::pool_kind::max>> {};

using inception_v3_b = inception_factorized_block<3, 48, 40, 40, 48, 40, 40, 40, 40, 48, 48>;
using inception_v3_c = inception_v3_c_block<80, 96, 96, 112, 96, 48>;

struct inception_v3
    : inception_net<32, 0.4, inception_a_block<16, 12, 16, 16, 24, 24, 8>,
                    inception_a_block<16, 12, 16, 16, 24, 24, 16>, inception_a_block<16, 12, 16, 16, 24, 24, 16>,
                    inception_reduction<48, 96, 16, 24, padding::valid>,
                    inception_factorized_block<3, 48, 32, 32, 48, 32, 32, 32, 32, 48, 48>, inception_v3_b,
                    inception_v3_b, inception_factorized_block<3, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48>,
                    inception_reduction<48, 80, 48, 48, padding::valid>, inception_v3_c, inception_v3_c> {};

// Inception-v4's widths divided by 4, rounded down: A (96, 64, 96, 64, 96, 96, 96), reduction A
// (384, 192, 224, 256), B (384, 192, 224, 256, 192, 192, 224, 224, 256, 128), reduction B
// (192, 192, 256, 256, 320, 320), C (256, 384, 256, 256, 384, 448, 512, 256, 256, 256).
using inception_v4_a = inception_a_block<24, 16, 24, 16, 24, 24, 24>;
using inception_v4_b = inception_factorized_block<7, 96, 48, 56, 64, 48, 48, 56, 56, 64, 32>;
using inception_v4_c = inception_v4_c_block<64, 96, 64, 64, 96, 112, 128, 64, 64, 64>;

struct inception_v4
    : inception_net<32, 0.2, inception_v4_a, inception_v4_a, inception_v4_a, inception_v4_a,
                    inception_v4_reduction_a<96, 48, 56, 64>, inception_v4_b, inception_v4_b, inception_v4_b,
                    inception_v4_b, inception_v4_b, inception_v4_b, inception_v4_b,
                    inception_v4_reduction_b<48, 48, 64, 64, 80, 80>, inception_v4_c, inception_v4_c,
                    inception_v4_c> {};

}  // namespace cnnzoo::models
