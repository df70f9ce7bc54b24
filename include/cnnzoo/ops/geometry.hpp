#pragma once
// Run-time descriptions of the work one call of a policy op does.
//
// Layers know their shapes at compile time, but the policies take them as plain structs: the
// CPU kernels are then compiled once per element type instead of once per layer shape, which
// keeps a model's build cheap, and the GPU policy caches its cuDNN plans per geometry.
// Layout of activations is the policy's business; parameter layouts are fixed here:
//   conv weight  [out][in / groups][kh][kw]   (as PyTorch), bias [out]
//   dense weight [out][in],                    bias [out]
#include <cstddef>
#include <string>

namespace cnnzoo::ops {

struct conv_geometry {
  int n = 0, c = 0, h = 0, w = 0;       // input
  int k = 0, kh = 1, kw = 1;            // filters
  int sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
  int groups = 1;
  int oh = 0, ow = 0;                   // output
  bool bias = false;
  std::string describe() const {
    return "conv2d " + std::to_string(n) + "x" + std::to_string(c) + "x" + std::to_string(h) + "x" +
           std::to_string(w) + " -> " + std::to_string(k) + "x" + std::to_string(oh) + "x" + std::to_string(ow) +
           " kernel " + std::to_string(kh) + "x" + std::to_string(kw) + " stride " + std::to_string(sh) + "x" +
           std::to_string(sw) + " dilation " + std::to_string(dh) + "x" + std::to_string(dw) + " groups " +
           std::to_string(groups);
  }
};

struct batch_norm_geometry {
  int n = 0, c = 0, hw = 1;             // hw = 1 for BatchNorm on a (n, c) matrix
  double eps = 1e-5;
  double momentum = 0.1;                // running = (1 - momentum) running + momentum batch
};

enum class activation : unsigned char { identity, relu, relu6, sigmoid, hard_sigmoid, swish, hard_swish };

constexpr const char* activation_name(activation a) noexcept {
  switch (a) {
    case activation::identity: return "identity";
    case activation::relu: return "relu";
    case activation::relu6: return "relu6";
    case activation::sigmoid: return "sigmoid";
    case activation::hard_sigmoid: return "hard_sigmoid";
    case activation::swish: return "swish";
    case activation::hard_swish: return "hard_swish";
  }
  return "?";
}

enum class pool_kind : unsigned char { max, avg };

struct pool_geometry {
  int n = 0, c = 0, h = 0, w = 0;
  int kh = 2, kw = 2, sh = 2, sw = 2, ph = 0, pw = 0;
  int oh = 0, ow = 0;                   // average pooling divides by the window's in-image count
};

// A block of channels copied between two activations with the same n, h, w:
// dst[:, dst_off : dst_off + count] (+)= src[:, src_off : src_off + count].
struct channel_copy {
  int n = 0, hw = 1;
  int src_c = 0, src_off = 0;
  int dst_c = 0, dst_off = 0;
  int count = 0;
};

}  // namespace cnnzoo::ops
