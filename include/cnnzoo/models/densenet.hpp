#pragma once
// Densely connected networks, BC variant.
//
// Paper: G. Huang, Z. Liu, L. van der Maaten, K. Q. Weinberger, "Densely Connected Convolutional
// Networks" (CVPR 2017). A dense layer appends Growth new channels to everything before it:
// BN-ReLU-conv1x1(4 Growth)-BN-ReLU-conv3x3(Growth), concatenated to its input ("B",
// bottleneck). Between dense blocks a transition BN-ReLU-conv1x1-avg pool 2/2 compresses the
// channels by theta ("C", theta = 0.5). The CIFAR networks start with one 3x3 convolution of
// 2 Growth filters; ImageNet's DenseNet-121 ([6, 12, 24, 16], Growth 32) starts with a 7x7/2
// convolution and a max pool, which a 32x32 input replaces with the same 3x3 stem (32 -> 16 ->
// 8 -> 4 across the three transitions).
//
// As in the seed: every convolution has a bias (Keras' default; the paper has none), and each
// transition outputs half of the channels the network would have had without any compression,
// 2 Growth + Growth x (layers so far), instead of half of its actual input:
//   DenseNet100 ("100-24", [16, 16, 16]): 432 -> 216, 600 -> 408 (the paper: 300), final 792;
//   DenseNet121 ([6, 12, 24, 16], 32):    256 -> 128, 512 -> 320, 1088 -> 704, final 1216.
// The paper's rule is the same template with `transition_rule::compressed`:
//   densenet100_compressed: 432 -> 216, 600 -> 300, final 684;
//   densenet121_compressed: 256 -> 128, 512 -> 256, 1024 -> 512, final 1024 (torchvision's widths).
//
//   DenseNet100: 3,262,474 trainable, 3,314,218 with BatchNorm statistics.
//   DenseNet121: 7,842,826 trainable, 7,936,202 with BatchNorm statistics.
#include "common.hpp"

namespace cnnzoo::models {

// How a transition chooses its width.
enum class transition_rule {
  seed,        // half of 2 Growth + Growth x (dense layers so far), as if nothing had been compressed
  compressed,  // half of its input (the paper's theta = 0.5)
};

// BN-R-conv1x1(4 Growth, bias)-BN-R-conv3x3(Growth, bias), kept beside its input.
template <int Growth>
struct dense_layer
    : concat<identity, seq<batch_norm, relu, conv<conv_args{.out = 4 * Growth, .kernel = 1, .bias = true}>,
                           batch_norm, relu, conv<conv_args{.out = Growth, .kernel = 3, .bias = true}>>> {};

// BN-R-conv1x1(Out, bias)-avg pool 2/2.
template <int Out>
struct dense_transition
    : seq<batch_norm, relu, conv<conv_args{.out = Out, .kernel = 1, .bias = true}>, avg_pool<2>> {};

namespace detail {
template <int Growth>
struct dense_unit {
  template <int> using unit = dense_layer<Growth>;
};

// The width of the transition after dense block number `block`, by `rule`.
template <std::size_t N>
constexpr int transition_width(transition_rule rule, int growth, const std::array<int, N>& depths,
                               std::size_t block) noexcept {
  int channels = 2 * growth, uncompressed = 2 * growth;
  for (std::size_t b = 0; b <= block; ++b) {
    channels += growth * depths[b];
    uncompressed += growth * depths[b];
    const int out = (rule == transition_rule::seed ? uncompressed : channels) / 2;
    if (b == block) return out;
    channels = out;
  }
  return channels;
}

// A dense block and, unless it is the last, its transition.
template <int Growth, int Depth, int TransitionOut>
struct dense_stage {
  using block = repeat<dense_unit<Growth>::template unit, Depth>;
  using type = std::conditional_t<TransitionOut == 0, block, seq<block, dense_transition<TransitionOut>>>;
};

template <int... Depths>
inline constexpr std::array<int, sizeof...(Depths)> depth_array{Depths...};

template <transition_rule Rule, int Growth, int... Depths, std::size_t... B>
auto dense_stages(std::index_sequence<B...>)
    -> seq<typename dense_stage<Growth, depth_array<Depths...>[B],
                                B + 1 == sizeof...(Depths) ? 0
                                                           : transition_width(Rule, Growth, depth_array<Depths...>, B)>::type...>;
}  // namespace detail

// Stem conv3x3 (2 Growth, bias) -> BN -> ReLU, the dense blocks with transitions between them,
// BN -> ReLU -> global average pool -> dense.
template <int Growth, transition_rule Rule, int... Depths>
struct densenet_bc
    : seq<conv_bn_act<conv_args{.out = 2 * Growth, .kernel = 3, .bias = true}>,
          decltype(detail::dense_stages<Rule, Growth, Depths...>(std::make_index_sequence<sizeof...(Depths)>{})),
          bn_act<>, gap_dense<>> {
  static_assert(Growth > 0 && sizeof...(Depths) > 0 && ((Depths > 0) && ...),
                "cnnzoo: a DenseNet needs a positive growth rate and at least one block of positive depth");
};

struct densenet100 : densenet_bc<24, transition_rule::seed, 16, 16, 16> {};
struct densenet121 : densenet_bc<32, transition_rule::seed, 6, 12, 24, 16> {};

// The paper's compression (theta = 0.5 of each transition's input) on the same networks.
struct densenet100_compressed : densenet_bc<24, transition_rule::compressed, 16, 16, 16> {};
struct densenet121_compressed : densenet_bc<32, transition_rule::compressed, 6, 12, 24, 16> {};

}  // namespace cnnzoo::models
