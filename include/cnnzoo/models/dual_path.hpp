#pragma once
// Dual Path Networks.
//
// Paper: Y. Chen, J. Li, H. Xiao, X. Jin, S. Yan, J. Feng, "Dual Path Networks" (NIPS 2017),
// Table 1 (DPN-92: [3, 4, 20, 3] units, 1x1/3x3/1x1 widths 96/96/256 doubling per stage, 32
// groups, dense increments k = 16, 32, 24, 128). A unit sees the concatenation
// [residual | dense] and computes BN-ReLU, 1x1(top)-BN-ReLU, grouped 3x3(top, stride)-BN-ReLU,
// 1x1(bottom + k); the first `bottom` channels of that are added to the residual path, the last
// k are appended to the dense path. The first unit of each stage replaces the identity with a
// 1x1 (stride) projection to bottom + k channels, split the same way into a fresh residual part
// and the first k dense channels.
//
// As in the seed, for 32x32 CIFAR-10 inputs: a 3x3 stem of 32 filters (no bias) + BN + ReLU
// replaces the 7x7/2 conv and max pool, so the stages run at 32, 16, 8, 4 pixels (the first unit
// of stages 2-4 has stride 2); the 1x1 and grouped 3x3 have no bias, the last 1x1 and the
// projection have one; the head is BN-ReLU, 0.5 (global max pool + global average pool), dense 10.
// DualPathNet50 is the seed's smaller member: [3, 4, 6, 3] units, k = 16, 32, 64, 128.
//
// The state is one tensor, [residual | dense], held by graph/dual_path.hpp's combinator: no unit
// ever splits or re-concatenates it.
//
//   DualPathNet50: 20,990,602 trainable, 21,050,538 with BatchNorm statistics.
//   DualPathNet92: 34,262,882 trainable, 34,380,578 with BatchNorm statistics.
#include <array>
#include <cstddef>
#include <utility>

#include "../graph/dual_path.hpp"
#include "common.hpp"

namespace cnnzoo::models {

// One unit: top (bottleneck) width, bottom (residual) width, dense increment, groups, stride,
// whether it projects (the first unit of a stage).
template <int Top, int Bottom, int K, int Groups, int Stride, bool Project>
struct dpn_unit
    : dual_path<seq<bn_act<>, conv_bn_act<conv_args{.out = Top, .kernel = 1}>,
                    conv_bn_act<conv_args{.out = Top, .kernel = 3, .stride = Stride, .groups = Groups}>,
                    conv<conv_args{.out = Bottom + K, .kernel = 1, .bias = true}>>,
                std::conditional_t<Project, conv<conv_args{.out = Bottom + K, .kernel = 1, .stride = Stride, .bias = true}>,
                                   identity>,
                Bottom> {
  static_assert(Project || Stride == 1, "cnnzoo: a DPN unit that strides must project its shortcut");
};

struct dpn_args {
  int stem = 32;
  int top = 96, bottom = 256;              // widths of the first stage, doubled at every stage
  int groups = 32;
  std::array<int, 4> depths{3, 4, 6, 3};
  std::array<int, 4> increments{16, 32, 64, 128};
};

namespace detail {
template <dpn_args A, std::size_t S>
struct dpn_stage {
  template <int J>
  using unit = dpn_unit<(A.top << S), (A.bottom << S), A.increments[S], A.groups, stage_stride(static_cast<int>(S), J),
                        J == 0>;
};
template <dpn_args A, std::size_t... S>
auto dpn_stages(std::index_sequence<S...>) -> seq<repeat<dpn_stage<A, S>::template unit, A.depths[S]>...>;
}  // namespace detail

// BN-ReLU on the final state, the mean of global max and global average pooling, dense.
template <int Classes = cifar10_classes>
using dpn_head = seq<bn_act<>, mean_join<global_max_pool, global_avg_pool>, dense<Classes>>;

template <dpn_args A>
struct dual_path_net
    : seq<conv_bn_act<conv_args{.out = A.stem, .kernel = 3}>,
          decltype(detail::dpn_stages<A>(std::make_index_sequence<A.depths.size()>{})), dpn_head<>> {};

struct dual_path_net50 : dual_path_net<dpn_args{}> {};
struct dual_path_net92 : dual_path_net<dpn_args{.depths = {3, 4, 20, 3}, .increments = {16, 32, 24, 128}}> {};

}  // namespace cnnzoo::models
