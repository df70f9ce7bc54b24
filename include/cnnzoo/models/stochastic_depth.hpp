#pragma once
// Stochastic depth on ResNet50.
//
// Paper: G. Huang, Y. Sun, Z. Liu, D. Sedra, K. Q. Weinberger, "Deep Networks with Stochastic
// Depth" (ECCV 2016): while training, each residual branch is kept with probability p_l and
// otherwise skipped, so the unit is the identity; at test time the branch is scaled by p_l. The
// paper's linear decay is p_l = 1 - (l / L)(1 - p_L) with p_L = 0.5.
// The seed applies it to its ResNet50 (resnet.hpp, with that file's 32x32 changes): a gate
// (layers/drop_path.hpp) ends every branch, before the add, with p = 1 - 0.5 d / 48 where
// d = 0, 3, ..., 45 is the index of the unit's first convolution among the 48 of the 16 units,
// i.e. p = 1 - 0.5 i / 16 for unit i = 0 ... 15 (1.0 down to 0.53125). The first unit is never
// dropped: the seed counts l from 0 where the paper counts from 1. The gates add no parameters.
//
//   StochasticDepth: 23,539,850 trainable, 23,585,418 with BatchNorm statistics (ResNet50's).
//
// The gate draws one coin per sample (the paper's per-mini-batch coin is the same in
// expectation); run_options::drop_path scales every gate's drop rate at run time.
#include "../layers/drop_path.hpp"
#include "resnet.hpp"

namespace cnnzoo::models {

// Survival of unit `index` of `units`: 1 - (1 - last) * index / units.
constexpr double linear_survival(int index, int units, double last) noexcept {
  return 1.0 - (1.0 - last) * static_cast<double>(index) / static_cast<double>(units);
}

// ResNet50's bottleneck at base width Base, gated with the survival of its index.
template <int Base, int Units, double Last>
struct stochastic_depth_family {
  template <int Stage, int Stride, int Index>
  using unit = preact_bottleneck<at_stage(bottleneck_args{.width = Base, .out = 4 * Base}, Stage, Stride),
                                 drop_path<drop_path_args{.survival = linear_survival(Index, Units, Last)}>>;
};

template <int Base, class Depths, double Last = 0.5>
struct stochastic_depth_resnet
    : residual_network<conv_bn_act<conv_args{.out = Base, .kernel = 3, .bias = true}>,
                       stochastic_depth_family<Base, Depths::total, Last>, preact_head<>, Depths> {
  static_assert(Last > 0.0 && Last <= 1.0, "cnnzoo: stochastic depth's last survival probability must be in (0, 1]");
};

struct stochastic_depth_resnet50 : stochastic_depth_resnet<64, stage_depths<3, 4, 6, 3>> {};

}  // namespace cnnzoo::models
