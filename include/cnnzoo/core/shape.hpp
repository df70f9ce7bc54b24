#pragma once
// Compile-time activation shapes.
//
// Every activation in cnnzoo is a per-image (channels, height, width) triple; a flattened
// vector of n features is (n, 1, 1). Shapes are structural types so they can be template
// arguments: a layer's input shape is a template argument supplied by whatever precedes it.
#include <cstddef>

namespace cnnzoo {

struct shape {
  int c = 0, h = 1, w = 1;
  constexpr std::size_t size() const noexcept {
    return static_cast<std::size_t>(c) * static_cast<std::size_t>(h) * static_cast<std::size_t>(w);
  }
  constexpr std::size_t spatial() const noexcept {
    return static_cast<std::size_t>(h) * static_cast<std::size_t>(w);
  }
  friend constexpr bool operator==(const shape&, const shape&) = default;
};

// The input of every seed network: a 32x32 RGB image.
inline constexpr shape cifar10_image{3, 32, 32};
inline constexpr int cifar10_classes = 10;

// How a window meets the border. `same` pads (k_eff - 1) / 2 on every side, symmetrically, which
// gives TensorFlow's "same" output sizes for the odd windows the zoo uses; unlike TensorFlow it
// never puts the extra row on the bottom only, so that cuDNN, which pads symmetrically, computes
// exactly what the CPU reference does. `valid` pads nothing.
enum class padding { same, valid };

namespace detail {
constexpr int effective_extent(int kernel, int dilation) noexcept { return dilation * (kernel - 1) + 1; }
constexpr int pad_for(padding p, int kernel, int dilation) noexcept {
  return p == padding::same ? (effective_extent(kernel, dilation) - 1) / 2 : 0;
}
constexpr int out_extent(int in, int kernel, int stride, int pad, int dilation) noexcept {
  return (in + 2 * pad - effective_extent(kernel, dilation)) / stride + 1;
}
}  // namespace detail

}  // namespace cnnzoo
