#pragma once
// Generated CIFAR-10-format images that a network learns in a few dozen steps: the trainer tests
// and the zoo's learning check train on them.
#include <algorithm>
#include <cstdint>

#include <cnnzoo/core/rng.hpp>
#include <cnnzoo/data/cifar10.hpp>

namespace cnnzoo::test {

// `n` images whose class shows as a mean colour (well apart in RGB) and a stripe direction, with
// pixel noise, so a network with a global pool learns them within a few dozen steps. Classes
// cycle 0..9 so every prefix of the set is balanced.
inline data::dataset learnable_set(std::size_t n, std::uint64_t seed) {
  static constexpr int palette[10][3] = {{220, 40, 40},  {40, 220, 40},  {40, 40, 220},  {220, 220, 40}, {220, 40, 220},
                                         {40, 220, 220}, {128, 128, 128}, {240, 140, 20}, {20, 140, 240}, {30, 30, 30}};
  rng g(seed);
  data::dataset set;
  set.labels.resize(n);
  set.pixels.resize(n * data::cifar10_image_bytes);
  for (std::size_t i = 0; i < n; ++i) {
    const int c = static_cast<int>(i % 10);
    set.labels[i] = static_cast<std::uint8_t>(c);
    std::uint8_t* img = set.pixels.data() + i * data::cifar10_image_bytes;
    for (int ch = 0; ch < 3; ++ch)
      for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 32; ++x) {
          const int stripe = ((c % 2 ? x : y) / 4) % 2 ? 25 : -25;
          const int noise = static_cast<int>(g.below(41)) - 20;
          img[(ch * 32 + y) * 32 + x] = static_cast<std::uint8_t>(std::clamp(palette[c][ch] + stripe + noise, 0, 255));
        }
  }
  return set;
}

}  // namespace cnnzoo::test
