#pragma once
// Squeeze-and-excitation networks.
//
// Paper: J. Hu, L. Shen, G. Sun, "Squeeze-and-Excitation Networks" (CVPR 2018). An SE block
// (layers/squeeze_excite.hpp) rescales the channels of a residual branch before the add:
// global average pool, dense c -> c/r, activation, dense c/r -> c, sigmoid, multiply; r = 16.
// Each network here is its base family with squeeze_excite<...> as the branch's last part, so
// the 32x32 changes are the base family's (resnet.hpp, resnext.hpp, wide_resnet.hpp):
//
//   SE-ResNet50     ResNet50 (pre-activation, every conv with bias) + SE(no bias, ReLU)
//                   -> 26,054,794 trainable, 26,100,362 with BatchNorm statistics
//   SE-ResNeXt50    ResNeXt50 32x4d + SE(no bias, ReLU) on its 2w outputs
//                   -> 25,526,602 trainable, 25,587,274
//   SE-WideResNet   the seed's best network: WRN-28-10 with a 3x3 stem of 64 filters without
//                   bias, swish instead of ReLU everywhere (stem, units, head), dropout 0.2, and
//                   SE(with biases, swish, sigmoid)
//                   -> 36,841,154 trainable, 36,859,330
//   SE-WideResNet_2 the same network, trained by the seed with its longer recipe: an alias
//   SENet154        the seed's: stem c3-32 (no bias), pre-activation ResNeXt units [3, 8, 36, 3]
//                   with 64 groups, grouped width w = 256, 512, 1024, 2048 and outputs 4w
//                   (1024 ... 8192), SE(no bias, ReLU)
//                   -> 567,375,594 trainable, 567,950,186 (about 2.3 GB of fp32 weights)
//
// SENet154 differs from the paper's SENet-154 in more than arguments: the paper's unit reduces
// to half its grouped width before the 3x3, outputs as many channels as the 3x3 (not four times
// as many), starts from three 3x3 stem convolutions, projects with 3x3 convolutions and ends
// with dropout 0.2, so no second alias is offered for it; the seed's configuration is the one
// whose count the table gives.
#include "../layers/squeeze_excite.hpp"
#include "resnet.hpp"
#include "resnext.hpp"
#include "wide_resnet.hpp"

namespace cnnzoo::models {

struct se_resnet50 : preact_bottleneck_resnet<64, stage_depths<3, 4, 6, 3>, squeeze_excite<se_args{}>> {};

struct se_resnext50 : resnext_net<resnext_args{}, stage_depths<3, 4, 6, 3>, squeeze_excite<se_args{}>> {};

inline constexpr wide_resnet_args se_wide_resnet_args{
    .depth = 28, .widen = 10, .stem = 64, .stem_bias = false, .act = ops::activation::swish, .dropout = 0.2};
struct se_wide_resnet
    : wide_resnet_net<se_wide_resnet_args, squeeze_excite<se_args{.bias = true, .act = ops::activation::swish}>> {};
// The seed trains SE-WideResNet_2 with more tricks (its "Implement Detail"), on the same network.
using se_wide_resnet_2 = se_wide_resnet;

// SENet154's template arguments; tests build the same template at reduced width.
inline constexpr resnext_args senet154_args{.stem = 32, .width = 256, .expansion = 4, .cardinality = 64};
using senet154_depths = stage_depths<3, 8, 36, 3>;
struct senet154 : resnext_net<senet154_args, senet154_depths, squeeze_excite<se_args{}>> {};

}  // namespace cnnzoo::models
