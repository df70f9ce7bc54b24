#pragma once
// An image of any size as a CIFAR-10 input: 8-bit RGB, interleaved (as image decoders give it),
// resized to 32 x 32 and laid out as planes (CHW), the layout data::dataset holds.
//
// Resizing: downscaling averages, for each output pixel, the input area it covers (fractional
// pixels weighted by their covered fraction; OpenCV's INTER_AREA), so a photograph does not
// alias; upscaling interpolates bilinearly between pixel centres (half-pixel convention, as
// PyTorch's interpolate(align_corners=False)). Each axis is treated on its own, so an image is
// stretched to the square, not cropped.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace cnnzoo::data {

namespace detail {
// Weights of input pixels [first, first + weights.size()) for each output pixel along one axis.
struct axis_taps {
  std::vector<int> first;
  std::vector<std::vector<float>> weights;
};

inline axis_taps resize_axis(int in, int out) {
  axis_taps t;
  t.first.resize(static_cast<std::size_t>(out));
  t.weights.resize(static_cast<std::size_t>(out));
  const double scale = static_cast<double>(in) / out;
  for (int o = 0; o < out; ++o) {
    auto& w = t.weights[static_cast<std::size_t>(o)];
    if (in > out) {  // area: the input interval [o * scale, (o + 1) * scale)
      const double lo = o * scale, hi = (o + 1) * scale;
      const int i0 = static_cast<int>(std::floor(lo)), i1 = std::min(in, static_cast<int>(std::ceil(hi)));
      t.first[static_cast<std::size_t>(o)] = i0;
      for (int i = i0; i < i1; ++i)
        w.push_back(static_cast<float>((std::min<double>(i + 1, hi) - std::max<double>(i, lo)) / scale));
    } else {         // bilinear between centres; equal sizes give weight 1 on the same pixel
      const double x = std::clamp((o + 0.5) * scale - 0.5, 0.0, static_cast<double>(in - 1));
      const int i0 = static_cast<int>(std::floor(x));
      const int i1 = std::min(i0 + 1, in - 1);
      const float f = static_cast<float>(x - i0);
      t.first[static_cast<std::size_t>(o)] = i0;
      w.push_back(1.0f - f);
      if (i1 != i0) w.push_back(f);
    }
  }
  return t;
}
}  // namespace detail

// `rgb`: height x width x 3 bytes, rows top to bottom. Returns 3 x out_h x out_w bytes (CHW).
inline std::vector<std::uint8_t> rgb_to_planes(std::span<const std::uint8_t> rgb, int width, int height,
                                               int out_w = 32, int out_h = 32) {
  if (width <= 0 || height <= 0 || rgb.size() != static_cast<std::size_t>(width) * height * 3)
    throw std::invalid_argument("cnnzoo: rgb_to_planes needs width x height x 3 bytes, got " +
                                std::to_string(rgb.size()) + " for " + std::to_string(width) + " x " +
                                std::to_string(height));
  const detail::axis_taps ax = detail::resize_axis(width, out_w), ay = detail::resize_axis(height, out_h);
  std::vector<std::uint8_t> out(static_cast<std::size_t>(3) * out_h * out_w);
  for (int oy = 0; oy < out_h; ++oy)
    for (int ox = 0; ox < out_w; ++ox)
      for (int c = 0; c < 3; ++c) {
        double acc = 0;
        const auto& wy = ay.weights[static_cast<std::size_t>(oy)];
        const auto& wx = ax.weights[static_cast<std::size_t>(ox)];
        for (std::size_t j = 0; j < wy.size(); ++j) {
          const int y = ay.first[static_cast<std::size_t>(oy)] + static_cast<int>(j);
          for (std::size_t i = 0; i < wx.size(); ++i) {
            const int x = ax.first[static_cast<std::size_t>(ox)] + static_cast<int>(i);
            acc += static_cast<double>(wy[j]) * wx[i] * rgb[(static_cast<std::size_t>(y) * width + x) * 3 + c];
          }
        }
        out[(static_cast<std::size_t>(c) * out_h + oy) * out_w + ox] =
            static_cast<std::uint8_t>(std::clamp(std::lround(acc), 0L, 255L));
      }
  return out;
}

}  // namespace cnnzoo::data
