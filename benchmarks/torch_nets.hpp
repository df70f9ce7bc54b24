#pragma once
// The three networks of bench_libtorch_compare written in libtorch's torch::nn, layer for layer as
// the zoo builds them (models/resnet.hpp, models/wide_resnet.hpp, models/densenet.hpp): the
// program checks that each has the cnnzoo type's exact trainable parameter count before timing.
// NCHW fp32, libtorch's defaults.
#include <torch/torch.h>

#include <memory>
#include <vector>

namespace cnnzoo::bench::torch_nets {

namespace nn = torch::nn;

inline nn::Conv2d conv(int in, int out, int kernel, int stride = 1) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(true));
}

// BN-ReLU-conv3x3(stride)-BN-ReLU-[dropout]-conv3x3, plus x or a 1x1 projection of x (with bias,
// no BN) where the shape changes: ResNet18's and the wide ResNet's unit.
struct preact_unit_impl : nn::Module {
  preact_unit_impl(int in, int out, int stride, double dropout)
      : bn1(register_module("bn1", nn::BatchNorm2d(in))), conv1(register_module("conv1", conv(in, out, 3, stride))),
        bn2(register_module("bn2", nn::BatchNorm2d(out))), conv2(register_module("conv2", conv(out, out, 3))),
        drop(dropout) {
    if (in != out || stride != 1) projection = register_module("projection", conv(in, out, 1, stride));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = conv1(torch::relu(bn1(x)));
    y = torch::relu(bn2(y));
    if (drop > 0) y = torch::dropout(y, drop, is_training());
    y = conv2(y);
    return y + (projection ? projection(x) : x);
  }
  nn::BatchNorm2d bn1;
  nn::Conv2d conv1;
  nn::BatchNorm2d bn2;
  nn::Conv2d conv2, projection{nullptr};
  double drop;
};
TORCH_MODULE_IMPL(preact_unit, preact_unit_impl);

// Stem conv3x3(bias)-BN-ReLU, stages of pre-activation units, BN-ReLU-global average-dense 10.
struct preact_resnet_impl : nn::Module {
  preact_resnet_impl(int stem, const std::vector<int>& widths, int units_per_stage, double dropout)
      : stem_conv(register_module("stem", conv(3, stem, 3))), stem_bn(register_module("stem_bn", nn::BatchNorm2d(stem))),
        units(register_module("units", nn::Sequential())) {
    int in = stem;
    for (std::size_t s = 0; s < widths.size(); ++s)
      for (int u = 0; u < units_per_stage; ++u) {
        units->push_back(preact_unit(in, widths[s], u == 0 && s > 0 ? 2 : 1, dropout));
        in = widths[s];
      }
    head_bn = register_module("head_bn", nn::BatchNorm2d(in));
    fc = register_module("fc", nn::Linear(in, 10));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = units->forward(torch::relu(stem_bn(stem_conv(x))));
    y = torch::relu(head_bn(y));
    return fc(torch::adaptive_avg_pool2d(y, {1, 1}).flatten(1));
  }
  nn::Conv2d stem_conv;
  nn::BatchNorm2d stem_bn;
  nn::Sequential units;
  nn::BatchNorm2d head_bn{nullptr};
  nn::Linear fc{nullptr};
};
TORCH_MODULE_IMPL(preact_resnet, preact_resnet_impl);

// PreAct-ResNet18: stem 64, [2, 2, 2, 2] basic units at 64/128/256/512.
inline preact_resnet resnet18() { return preact_resnet(64, std::vector<int>{64, 128, 256, 512}, 2, 0.0); }
// WRN-16-4: stem 16, 2 units per stage at 64/128/256, dropout 0.3 between each unit's convolutions.
inline preact_resnet wrn_16_4() { return preact_resnet(16, std::vector<int>{64, 128, 256}, 2, 0.3); }

// BN-ReLU-conv1x1(4 growth)-BN-ReLU-conv3x3(growth), concatenated after its input.
struct dense_layer_impl : nn::Module {
  dense_layer_impl(int in, int growth)
      : bn1(register_module("bn1", nn::BatchNorm2d(in))), conv1(register_module("conv1", conv(in, 4 * growth, 1))),
        bn2(register_module("bn2", nn::BatchNorm2d(4 * growth))),
        conv2(register_module("conv2", conv(4 * growth, growth, 3))) {}
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = conv2(torch::relu(bn2(conv1(torch::relu(bn1(x))))));
    return torch::cat({x, y}, 1);
  }
  nn::BatchNorm2d bn1;
  nn::Conv2d conv1;
  nn::BatchNorm2d bn2;
  nn::Conv2d conv2;
};
TORCH_MODULE_IMPL(dense_layer, dense_layer_impl);

// The zoo's DenseNet100 ("100-24", BC): stem 48, three blocks of 16 layers at growth 24, the
// seed's transitions 432 -> 216 and 600 -> 408 (BN-ReLU-conv1x1-avg pool 2), final 792 channels.
struct densenet100_impl : nn::Module {
  densenet100_impl() : features(register_module("features", nn::Sequential())) {
    constexpr int growth = 24, layers = 16;
    features->push_back(conv(3, 2 * growth, 3));
    features->push_back(nn::BatchNorm2d(2 * growth));
    features->push_back(nn::Functional(torch::relu));
    int in = 2 * growth, uncompressed = 2 * growth;
    for (int block = 0; block < 3; ++block) {
      for (int l = 0; l < layers; ++l) {
        features->push_back(dense_layer(in, growth));
        in += growth;
      }
      uncompressed += layers * growth;
      if (block == 2) break;
      const int out = uncompressed / 2;
      features->push_back(nn::BatchNorm2d(in));
      features->push_back(nn::Functional(torch::relu));
      features->push_back(conv(in, out, 1));
      features->push_back(nn::AvgPool2d(nn::AvgPool2dOptions(2).stride(2)));
      in = out;
    }
    head_bn = register_module("head_bn", nn::BatchNorm2d(in));
    fc = register_module("fc", nn::Linear(in, 10));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = torch::relu(head_bn(features->forward(x)));
    return fc(torch::adaptive_avg_pool2d(y, {1, 1}).flatten(1));
  }
  nn::Sequential features;
  nn::BatchNorm2d head_bn{nullptr};
  nn::Linear fc{nullptr};
};
TORCH_MODULE_IMPL(densenet100, densenet100_impl);
inline densenet100 make_densenet100() { return densenet100(); }

}  // namespace cnnzoo::bench::torch_nets
