// Properties of each host augmentation: flips are involutions, crops shift content inside the
// padding, cutout zeroes exactly its clipped box, a neutral affine is the identity, mixup makes
// convex combinations, and everything is a pure function of the rng state.
#include <catch2/catch.hpp>

#include <cnnzoo/data/augment.hpp>

#include "support/augment_oracle.hpp"

#include <numeric>
#include <set>

using namespace cnnzoo::data;
using cnnzoo::rng;

namespace {

// Pixel values 1, 2, 3, ... so that every value is non-zero and identifies its position.
std::vector<float> ramp(const batch_shape& s) {
  std::vector<float> x(s.size());
  std::iota(x.begin(), x.end(), 1.0f);
  return x;
}

float at(const std::vector<float>& x, const batch_shape& s, int i, int c, int y, int xx) {
  return x[static_cast<std::size_t>(i) * s.image_size() + (static_cast<std::size_t>(c) * s.h + y) * s.w + xx];
}

}  // namespace

TEST_CASE("flip mirrors columns and flipping twice is the identity", "[data][augment]") {
  const batch_shape s{3, 3, 5, 7};
  const auto x0 = ramp(s);
  auto x = x0;
  hflip(x, s);
  CHECK(at(x, s, 1, 2, 3, 0) == at(x0, s, 1, 2, 3, 6));
  CHECK(at(x, s, 2, 0, 4, 2) == at(x0, s, 2, 0, 4, 4));
  hflip(x, s);
  CHECK(x == x0);
}

TEST_CASE("random crops stay within the padding and preserve the shifted content", "[data][augment]") {
  const batch_shape s{200, 3, 8, 8};
  const int pad = 2;
  const auto x0 = ramp(s);
  auto x = x0;
  rng g(7);
  random_crop(x, s, pad, g);
  std::set<std::pair<int, int>> seen;
  for (int i = 0; i < s.n; ++i) {
    // The value at any surviving pixel tells where it came from; every pixel must agree.
    int dy = 99, dx = 99;
    for (int y = 0; y < s.h && dy == 99; ++y)
      for (int xx = 0; xx < s.w; ++xx)
        if (const float v = at(x, s, i, 0, y, xx); v != 0) {
          const auto idx = static_cast<std::size_t>(v - 1) - static_cast<std::size_t>(i) * s.image_size();
          dy = y - static_cast<int>(idx / s.w);
          dx = xx - static_cast<int>(idx % s.w);
          break;
        }
    REQUIRE(std::abs(dy) <= pad);
    REQUIRE(std::abs(dx) <= pad);
    seen.insert({dy, dx});
    for (int c = 0; c < s.c; ++c)
      for (int y = 0; y < s.h; ++y)
        for (int xx = 0; xx < s.w; ++xx) {
          const int sy = y - dy, sx = xx - dx;
          const bool inside = sy >= 0 && sy < s.h && sx >= 0 && sx < s.w;
          REQUIRE(at(x, s, i, c, y, xx) == (inside ? at(x0, s, i, c, sy, sx) : 0.0f));
        }
  }
  CHECK(seen.size() == 25);  // 200 draws reach every one of the (2*pad+1)^2 offsets
}

TEST_CASE("shift_image moves content by whole pixels in any direction", "[data][augment]") {
  const batch_shape s{1, 2, 4, 5};
  for (int dy = -5; dy <= 5; ++dy)
    for (int dx = -6; dx <= 6; ++dx) {
      const auto x0 = ramp(s);
      auto x = x0;
      shift_image(x.data(), s.c, s.h, s.w, dy, dx);
      for (int c = 0; c < s.c; ++c)
        for (int y = 0; y < s.h; ++y)
          for (int xx = 0; xx < s.w; ++xx) {
            const int sy = y - dy, sx = xx - dx;
            const bool inside = sy >= 0 && sy < s.h && sx >= 0 && sx < s.w;
            REQUIRE(at(x, s, 0, c, y, xx) == (inside ? at(x0, s, 0, c, sy, sx) : 0.0f));
          }
    }
}

TEST_CASE("cutout zeroes exactly its box, clipped to the image", "[data][augment]") {
  const batch_shape s{1, 3, 32, 32};
  auto count_zeros = [&](const std::vector<float>& x) { return std::count(x.begin(), x.end(), 0.0f); };

  std::vector<float> x(s.size(), 1.0f);
  cutout_box(x.data(), s.c, s.h, s.w, 16, 16, 8);  // rows and columns 12..19
  CHECK(count_zeros(x) == 3 * 64);
  CHECK(at(x, s, 0, 1, 12, 12) == 0.0f);
  CHECK(at(x, s, 0, 1, 19, 19) == 0.0f);
  CHECK(at(x, s, 0, 1, 11, 12) == 1.0f);
  CHECK(at(x, s, 0, 1, 20, 19) == 1.0f);

  std::fill(x.begin(), x.end(), 1.0f);
  cutout_box(x.data(), s.c, s.h, s.w, 0, 31, 8);  // rows 0..3, columns 27..31
  CHECK(count_zeros(x) == 3 * 4 * 5);
  CHECK(at(x, s, 0, 2, 3, 27) == 0.0f);
  CHECK(at(x, s, 0, 2, 4, 27) == 1.0f);

  // The random version: per image and channel, the zeros form one rectangle no larger than the box.
  const batch_shape b{50, 3, 32, 32};
  std::vector<float> y(b.size(), 1.0f);
  rng g(3);
  cutout(y, b, 16, g);
  for (int i = 0; i < b.n; ++i) {
    int y0 = 99, y1 = -1, x0 = 99, x1 = -1;
    long zeros = 0;
    for (int r = 0; r < b.h; ++r)
      for (int c = 0; c < b.w; ++c)
        if (at(y, b, i, 0, r, c) == 0.0f) {
          ++zeros;
          y0 = std::min(y0, r); y1 = std::max(y1, r); x0 = std::min(x0, c); x1 = std::max(x1, c);
        }
    REQUIRE(zeros > 0);
    REQUIRE(zeros == (y1 - y0 + 1) * (x1 - x0 + 1));
    REQUIRE(y1 - y0 + 1 <= 16);
    REQUIRE(x1 - x0 + 1 <= 16);
    for (int ch = 1; ch < b.c; ++ch) REQUIRE(at(y, b, i, ch, y0, x0) == 0.0f);
  }
}

TEST_CASE("an affine with zero parameters is exactly the identity", "[data][augment]") {
  const batch_shape s{4, 3, 32, 32};
  auto x = ramp(s);
  for (auto& v : x) v = std::sin(v) * 3.0f;
  const auto x0 = x;
  rng g(11);
  const rng before = g;
  random_affine(x, s, affine_params{}, g);
  CHECK(x == x0);
  CHECK(g == before);
}

TEST_CASE("an affine shift by whole pixels moves pixels and fills with the nearest edge", "[data][augment]") {
  const batch_shape s{1, 2, 6, 8};
  const auto x0 = ramp(s);
  std::vector<float> out(s.size());
  // ty = 2 columns: output (y, x) samples input (y, x + 2), so the content moves 2 pixels left.
  apply_affine(x0.data(), out.data(), s.c, s.h, s.w, keras_affine(0, 0, 2, 0, 1, 1, s.h, s.w));
  for (int c = 0; c < s.c; ++c)
    for (int y = 0; y < s.h; ++y)
      for (int xx = 0; xx < s.w; ++xx)
        REQUIRE(at(out, s, 0, c, y, xx) == at(x0, s, 0, c, y, std::min(xx + 2, s.w - 1)));

  // tx = -1 row: the content moves one row down, the top row repeats the input's first row.
  apply_affine(x0.data(), out.data(), s.c, s.h, s.w, keras_affine(0, -1, 0, 0, 1, 1, s.h, s.w));
  for (int y = 0; y < s.h; ++y)
    for (int xx = 0; xx < s.w; ++xx) REQUIRE(at(out, s, 0, 1, y, xx) == at(x0, s, 0, 1, std::max(y - 1, 0), xx));
}

TEST_CASE("rotation and zoom act about the image centre", "[data][augment]") {
  const batch_shape s{1, 1, 7, 9};
  const auto x0 = ramp(s);
  std::vector<float> out(s.size());
  apply_affine(x0.data(), out.data(), s.c, s.h, s.w, keras_affine(180, 0, 0, 0, 1, 1, s.h, s.w));
  for (int y = 0; y < s.h; ++y)
    for (int xx = 0; xx < s.w; ++xx)
      REQUIRE(at(out, s, 0, 0, y, xx) == Approx(at(x0, s, 0, 0, s.h - 1 - y, s.w - 1 - xx)).margin(1e-3));
  apply_affine(x0.data(), out.data(), s.c, s.h, s.w, keras_affine(0, 0, 0, 0, 0.5, 0.5, s.h, s.w));
  CHECK(at(out, s, 0, 0, 3, 4) == at(x0, s, 0, 0, 3, 4));  // the centre pixel stays put
}

TEST_CASE("random affine transforms change images but keep values in the input's range", "[data][augment]") {
  const batch_shape s{8, 3, 32, 32};
  auto x = ramp(s);
  const auto x0 = x;
  rng g(5);
  random_affine(x, s, affine_params{15, 0.1, 0.1, 10, 0.1, true}, g);
  CHECK(x != x0);
  for (int i = 0; i < s.n; ++i) {
    const auto lo = x0.begin() + static_cast<std::ptrdiff_t>(i * s.image_size());
    const auto [mn, mx] = std::minmax_element(lo, lo + static_cast<std::ptrdiff_t>(s.image_size()));
    for (std::size_t e = 0; e < s.image_size(); ++e) {
      REQUIRE(x[i * s.image_size() + e] >= *mn - 1e-2f);
      REQUIRE(x[i * s.image_size() + e] <= *mx + 1e-2f);
    }
  }
  CHECK_THROWS_AS(random_affine(x, s, affine_params{0, 0, 0, 0, 1.5, false}, g), augment_error);
}

TEST_CASE("mixup rows are convex combinations and targets sum to one", "[data][augment]") {
  const batch_shape s{16, 3, 4, 4};
  const int classes = 10;
  for (auto mode : {mixup_lambda::per_batch, mixup_lambda::per_sample}) {
    auto x = ramp(s);
    for (auto& v : x) v = std::cos(v);
    const auto x0 = x;
    std::vector<std::uint8_t> labels(16);
    for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<std::uint8_t>((i * 3) % 10);
    auto t = smooth_targets(labels, classes, 0.1f);
    const auto t0 = t;
    rng g(21);
    const auto r = mixup(x, s, t, classes, 0.2, g, mode);

    std::vector<std::uint32_t> sorted = r.partner;
    std::sort(sorted.begin(), sorted.end());
    for (std::uint32_t i = 0; i < sorted.size(); ++i) REQUIRE(sorted[i] == i);  // a permutation
    for (int i = 0; i < s.n; ++i) {
      const float l = r.lambda[static_cast<std::size_t>(i)];
      const std::size_t j = r.partner[static_cast<std::size_t>(i)];
      REQUIRE(l >= 0.0f);
      REQUIRE(l <= 1.0f);
      if (mode == mixup_lambda::per_batch) REQUIRE(l == r.lambda[0]);
      for (std::size_t e = 0; e < s.image_size(); ++e)
        REQUIRE(x[i * s.image_size() + e] ==
                Approx(l * x0[i * s.image_size() + e] + (1 - l) * x0[j * s.image_size() + e]).margin(1e-6));
      float sum = 0;
      for (int k = 0; k < classes; ++k) {
        const float v = t[static_cast<std::size_t>(i * classes + k)];
        REQUIRE(v >= 0.0f);
        REQUIRE(v == Approx(l * t0[static_cast<std::size_t>(i * classes + k)] +
                            (1 - l) * t0[j * classes + static_cast<std::size_t>(k)]));
        sum += v;
      }
      REQUIRE(sum == Approx(1.0f));
    }
  }
}

TEST_CASE("mixup with alpha 0 changes nothing", "[data][augment]") {
  const batch_shape s{4, 1, 2, 2};
  auto x = ramp(s);
  const auto x0 = x;
  std::vector<std::uint8_t> labels{1, 2, 3, 4};
  auto t = smooth_targets(labels, 10, 0.0f);
  const auto t0 = t;
  rng g(1);
  mixup(x, s, t, 10, 0.0, g);
  CHECK(x == x0);
  CHECK(t == t0);
}

TEST_CASE("label smoothing puts 1 - eps + eps/K on the true class", "[data][augment]") {
  std::vector<std::uint8_t> labels{0, 9};
  const auto t = smooth_targets(labels, 10, 0.1f);
  REQUIRE(t.size() == 20);
  CHECK(t[0] == Approx(0.91f));
  CHECK(t[1] == Approx(0.01f));
  CHECK(t[19] == Approx(0.91f));
  CHECK(std::accumulate(t.begin(), t.begin() + 10, 0.0f) == Approx(1.0f));
  std::vector<std::uint8_t> bad{10};
  CHECK_THROWS_AS(smooth_targets(bad, 10, 0.1f), augment_error);
  CHECK_THROWS_AS(smooth_targets(labels, 10, 1.0f), augment_error);
}

TEST_CASE("channel statistics and z-score normalization", "[data][augment]") {
  // Channel 0 alternates 0 and 255 (mean 0.5, std 0.5); channel 1 is constant 51 (std floored).
  const batch_shape s{2, 2, 2, 2};
  std::vector<std::uint8_t> px(s.size());
  for (int i = 0; i < 2; ++i)
    for (int k = 0; k < 4; ++k) {
      px[static_cast<std::size_t>(i * 8 + k)] = (k % 2) ? 255 : 0;
      px[static_cast<std::size_t>(i * 8 + 4 + k)] = 51;
    }
  const auto st = channel_stats(px, 2, 2, 2);
  CHECK(st.mean[0] == Approx(0.5f));
  CHECK(st.std[0] == Approx(0.5f));
  CHECK(st.mean[1] == Approx(0.2f));
  CHECK(st.std[1] == Approx(1e-6f));
  std::vector<float> out(s.size());
  normalize_zscore(px, out, s, st);
  CHECK(out[0] == Approx(-1.0f));
  CHECK(out[1] == Approx(1.0f));
  // A constant channel maps to about 0, not to inf or NaN: (x - mean) is a float rounding (ulp(0.2) =
  // 1.5e-8), which the floored std (1e-6) magnifies up to 0.015, more with FMA contraction.
  CHECK(out[4] == Approx(0.0f).margin(0.05));
  CHECK_THROWS_AS(normalize_zscore(px, out, batch_shape{3, 2, 2, 2}, st), augment_error);
}

TEST_CASE("gather_batch normalizes the chosen images and copies their labels", "[data][augment]") {
  dataset set;
  set.labels = {4, 7, 1};
  set.pixels.resize(3 * cifar10_image_bytes);
  for (std::size_t i = 0; i < set.pixels.size(); ++i) set.pixels[i] = static_cast<std::uint8_t>(i % 251);
  const auto st = channel_stats(set);
  std::vector<std::size_t> idx{2, 0};
  std::vector<float> out(2 * cifar10_image_bytes);
  std::vector<std::uint8_t> labels(2);
  gather_batch(set, idx, st, out, labels);
  CHECK(labels == std::vector<std::uint8_t>{1, 4});
  const std::size_t e = 1500;  // channel 1
  CHECK(out[e] == Approx((set.pixels[2 * cifar10_image_bytes + e] / 255.0f - st.mean[1]) / st.std[1]));
}

TEST_CASE("augmentation is a pure function of the rng state", "[data][augment]") {
  const batch_shape s{8, 3, 32, 32};
  augment_config cfg;
  cfg.affine = affine_params{10, 0.1, 0.1, 5, 0.1, true};
  cfg.crop_padding = 4;
  cfg.random_flip = true;
  cfg.cutout_size = 8;
  auto run = [&](std::uint64_t seed) {
    auto x = ramp(s);
    rng g(seed);
    augment_batch(x, s, cfg, g);
    std::vector<std::uint8_t> labels(8, 3);
    auto t = smooth_targets(labels, 10, 0.1f);
    mixup(x, s, t, 10, 0.2, g);
    return std::pair{x, g.state()};
  };
  CHECK(run(42) == run(42));
  CHECK(run(42).first != run(43).first);

  // Restoring the state mid-stream continues identically, which is what resume relies on.
  rng a(9);
  auto xa = ramp(s);
  augment_batch(xa, s, cfg, a);
  rng b(0);
  b.set_state(a.state());
  auto x1 = ramp(s), x2 = ramp(s);
  augment_batch(x1, s, cfg, a);
  augment_batch(x2, s, cfg, b);
  CHECK(x1 == x2);
}

TEST_CASE("a buffer that does not match the shape is refused", "[data][augment]") {
  std::vector<float> x(10);
  rng g;
  CHECK_THROWS_WITH(hflip(x, batch_shape{1, 3, 32, 32}), Catch::Matchers::Contains("needs 3072"));
  CHECK_THROWS_AS(random_crop(x, batch_shape{1, 1, 2, 5}, -1, g), augment_error);
  CHECK_THROWS_AS(cutout(x, batch_shape{1, 1, 2, 5}, -3, g), augment_error);
}
