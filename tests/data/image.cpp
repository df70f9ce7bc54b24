// Images of any size as CIFAR-10 inputs: a 32 x 32 image only changes layout; a larger one is
// averaged by area, a smaller one interpolated bilinearly, both checked against hand results.
#include <catch2/catch.hpp>

#include <cnnzoo/data/image.hpp>

using cnnzoo::data::rgb_to_planes;

TEST_CASE("A 32 x 32 image is only laid out as planes", "[data][image]") {
  std::vector<std::uint8_t> rgb(32 * 32 * 3);
  for (std::size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<std::uint8_t>(i * 7);
  const auto planes = rgb_to_planes(rgb, 32, 32);
  for (int c = 0; c < 3; ++c)
    for (int p = 0; p < 32 * 32; ++p) REQUIRE(planes[static_cast<std::size_t>(c * 1024 + p)] == rgb[static_cast<std::size_t>(p * 3 + c)]);
}

TEST_CASE("Downscaling averages the area each output pixel covers", "[data][image]") {
  // 4 x 2 -> 2 x 1: each output pixel is the mean of a 2 x 2 block.
  const std::vector<std::uint8_t> rgb{10, 0, 0, 20, 0, 0, 30, 0, 0, 40, 0, 0,   // row 0
                                      50, 0, 0, 60, 0, 0, 70, 0, 0, 80, 0, 0};  // row 1
  const auto planes = rgb_to_planes(rgb, 4, 2, 2, 1);
  CHECK(planes[0] == 35);   // (10 + 20 + 50 + 60) / 4
  CHECK(planes[1] == 55);   // (30 + 40 + 70 + 80) / 4
  // 3 -> 2: the middle pixel is split between both outputs (1.5 input pixels each).
  const std::vector<std::uint8_t> row{0, 0, 0, 90, 0, 0, 180, 0, 0};
  const auto split = rgb_to_planes(row, 3, 1, 2, 1);
  CHECK(split[0] == 30);    // (0 * 1 + 90 * 0.5) / 1.5
  CHECK(split[1] == 150);   // (90 * 0.5 + 180 * 1) / 1.5
}

TEST_CASE("Upscaling interpolates between pixel centres", "[data][image]") {
  // 2 -> 4 along x: centres at 0.5 and 1.5 in input units map to -0.25, 0.25, 0.75, 1.25.
  const std::vector<std::uint8_t> row{0, 0, 0, 200, 0, 0};
  const auto up = rgb_to_planes(row, 2, 1, 4, 1);
  CHECK(up[0] == 0);        // clamped to the first pixel
  CHECK(up[1] == 50);       // 0.25 of the way
  CHECK(up[2] == 150);
  CHECK(up[3] == 200);
  CHECK_THROWS_AS(rgb_to_planes(row, 3, 1), std::invalid_argument);
}
