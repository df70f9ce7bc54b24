#pragma once
// Deep pyramidal residual networks.
//
// Paper: D. Han, J. Kim, J. Kim, "Deep Pyramidal Residual Networks" (CVPR 2017). The width grows
// by alpha / N at every one of the N units instead of doubling at each stage: unit k = 1..N has
// bottleneck width 16 + floor(alpha (k - 1) / N) and outputs 4 times that. The bottleneck unit is
// BN-1x1-BN-ReLU-3x3(stride)-BN-ReLU-1x1(4w)-BN (no ReLU after the add, none before the first
// conv). The shortcut is parameter-free: the input, 2x2 average pooled when the unit strides,
// with zero channels appended up to the unit's width. No convolution has a bias.
//
// The CIFAR-10 network as in the paper and the seed: a 3x3 stem of 16 filters (no bias) + BN +
// ReLU, three stages of 12 bottleneck units on 32, 16 and 8 pixels (the first unit of stages 2
// and 3 has stride 2), alpha = 200 (widths 16 ... 210, outputs up to 840), then BN-ReLU, global
// average pool, dense 10. Depth 110 = 3 x 12 x 3 + 2.
//
//   PyramidNet110: 9,819,362 trainable, 9,900,626 with BatchNorm statistics.
#include <array>
#include <utility>

#include "../layers/channels.hpp"
#include "common.hpp"

namespace cnnzoo::models {

// Average pool 2x2 when the unit strides, zero channels up to Out when it widens.
template <int Out, int Stride>
struct pyramid_shortcut {
  static_assert(Stride == 1 || Stride == 2, "cnnzoo: a PyramidNet shortcut strides by 1 or 2");
  template <shape In, bool Pool = Stride != 1, bool Pad = (In.c != Out)>
  struct pick {
    using type = std::conditional_t<Pool, std::conditional_t<Pad, seq<avg_pool<2>, zero_pad_channels<Out>>, avg_pool<2>>,
                                    std::conditional_t<Pad, zero_pad_channels<Out>, identity>>;
  };
  template <shape In>
  struct bind : bind_t<typename pick<In>::type, In> {};
};

template <int Width, int Stride>
struct pyramid_bottleneck
    : residual<seq<batch_norm, conv_bn_act<conv_args{.out = Width, .kernel = 1}>,
                   conv_bn_act<conv_args{.out = Width, .kernel = 3, .stride = Stride}>,
                   conv<conv_args{.out = 4 * Width, .kernel = 1}>, batch_norm>,
               pyramid_shortcut<4 * Width, Stride>> {};

namespace detail {
template <std::size_t S>
constexpr int units_of(const std::array<int, S>& depths) {
  int n = 0;
  for (int d : depths) n += d;
  return n;
}
// Unit k (0-based over the network): stride 2 when it opens a stage other than the first.
template <std::size_t S>
constexpr int pyramid_stride(const std::array<int, S>& depths, int k) {
  int start = 0;
  for (std::size_t s = 0; s < S; ++s) {
    if (k == start) return s > 0 ? 2 : 1;
    start += depths[s];
  }
  return 1;
}
template <int Base, int Alpha, auto Depths>
struct pyramid_units {
  static constexpr int count = units_of(Depths);
  template <int K>
  using unit = pyramid_bottleneck<Base + Alpha * K / count, pyramid_stride(Depths, K)>;
};
}  // namespace detail

// Base width, widening alpha, units per stage.
template <int Base, int Alpha, auto Depths>
struct pyramidnet
    : seq<conv_bn_act<conv_args{.out = Base, .kernel = 3}>,
          repeat<detail::pyramid_units<Base, Alpha, Depths>::template unit, detail::units_of(Depths)>, bn_act<>,
          gap_dense<>> {};

struct pyramidnet110 : pyramidnet<16, 200, std::array<int, 3>{12, 12, 12}> {};

}  // namespace cnnzoo::models
