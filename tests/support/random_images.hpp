#pragma once
// A small CIFAR-10-shaped data set of random pixels and labels, for the augmentation tests on the
// CPU and the GPU.
#include <cstdint>

#include <cnnzoo/core/rng.hpp>
#include <cnnzoo/data/cifar10.hpp>

namespace cnnzoo::testing {

inline data::dataset random_images(std::size_t n, std::uint64_t seed) {
  rng g(seed);
  data::dataset d;
  d.pixels.resize(n * data::cifar10_image_bytes);
  d.labels.resize(n);
  for (auto& p : d.pixels) p = static_cast<std::uint8_t>(g.below(256));
  for (auto& l : d.labels) l = static_cast<std::uint8_t>(g.below(10));
  return d;
}

}  // namespace cnnzoo::testing
