#pragma once
// Augmentation's host side: channel statistics and z-score normalisation, and the random draws of
// each augmentation (the Keras-style affine map, the crop offset, the flip, the cutout box, the
// mixup partner and weight) that data::plan_batch turns into render recipes. The pixels are
// rendered by the policy that trains (ops/render.hpp); the whole-image pipeline that applies these
// draws on the host is the tests' oracle (tests/support/augment_oracle.hpp).
//
// Every random draw takes a `cnnzoo::rng&` and draws from it in a fixed order (image by image,
// parameters in the order they are listed), so a batch is a pure function of the rng state: the
// CPU training run is reproducible and a resumed run continues bit-identically once the rng state
// is restored from a checkpoint. Shapes are run-time values (C, H, W) because the input shape is a
// model template argument the data code does not know.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numbers>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <cnnzoo/core/rng.hpp>
#include <cnnzoo/data/cifar10.hpp>

#include "../core/error.hpp"

namespace cnnzoo::data {

// A bad argument to an augmentation (a shape that does not match the buffer, a negative size).
class augment_error : public cnnzoo::error {
public:
  using cnnzoo::error::error;
};

struct batch_shape {
  int n = 0, c = cifar10_channels, h = cifar10_height, w = cifar10_width;
  std::size_t plane() const noexcept { return static_cast<std::size_t>(h) * static_cast<std::size_t>(w); }
  std::size_t image_size() const noexcept { return static_cast<std::size_t>(c) * plane(); }
  std::size_t size() const noexcept { return static_cast<std::size_t>(n) * image_size(); }
};

namespace detail {

inline void check_shape(const batch_shape& s, std::size_t elements, const char* what) {
  if (s.n < 0 || s.c <= 0 || s.h <= 0 || s.w <= 0)
    throw augment_error(std::string("cnnzoo: ") + what + ": invalid batch shape " + std::to_string(s.n) + "x" +
                        std::to_string(s.c) + "x" + std::to_string(s.h) + "x" + std::to_string(s.w));
  if (elements != s.size())
    throw augment_error(std::string("cnnzoo: ") + what + ": the buffer holds " + std::to_string(elements) +
                        " values but the shape " + std::to_string(s.n) + "x" + std::to_string(s.c) + "x" +
                        std::to_string(s.h) + "x" + std::to_string(s.w) + " needs " + std::to_string(s.size()));
}

}  // namespace detail

// ---- normalization ---------------------------------------------------------------------------

// Per-channel mean and standard deviation on the [0, 1] scale (pixel / 255), the convention of
// the usual CIFAR-10 constants (0.4914, 0.4822, 0.4465), so they can be compared at a glance.
struct channel_statistics {
  std::vector<float> mean, std;
};

// Those of CIFAR-10's 50,000 training images, for weights that do not record their own.
inline channel_statistics cifar10_training_statistics() {
  return {{0.4914f, 0.4822f, 0.4465f}, {0.2470f, 0.2435f, 0.2616f}};
}

// Population statistics (ddof = 0) over every pixel of every image, accumulated in double so
// 150 million additions do not lose precision. A constant channel gets std = 1e-6 instead of 0
// (Keras adds the same epsilon), so normalizing it cannot divide by zero.
inline channel_statistics channel_stats(std::span<const std::uint8_t> pixels, int c, int h, int w) {
  const std::size_t plane = static_cast<std::size_t>(h) * static_cast<std::size_t>(w);
  const std::size_t image = static_cast<std::size_t>(c) * plane;
  if (c <= 0 || plane == 0 || pixels.empty() || pixels.size() % image != 0)
    throw augment_error("cnnzoo: channel_stats: " + std::to_string(pixels.size()) +
                        " pixel bytes are not a non-empty whole number of " + std::to_string(c) + "x" +
                        std::to_string(h) + "x" + std::to_string(w) + " images");
  const std::size_t n = pixels.size() / image;
  channel_statistics st{std::vector<float>(static_cast<std::size_t>(c)), std::vector<float>(static_cast<std::size_t>(c))};
  for (int ch = 0; ch < c; ++ch) {
    std::uint64_t sum = 0, sum_sq = 0;  // exact: 255^2 * 2^40 still fits in 64 bits
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint8_t* p = pixels.data() + i * image + static_cast<std::size_t>(ch) * plane;
      for (std::size_t k = 0; k < plane; ++k) {
        sum += p[k];
        sum_sq += static_cast<std::uint64_t>(p[k]) * p[k];
      }
    }
    const double count = static_cast<double>(n * plane);
    const double mean = static_cast<double>(sum) / count;
    const double var = std::max(0.0, static_cast<double>(sum_sq) / count - mean * mean);
    st.mean[static_cast<std::size_t>(ch)] = static_cast<float>(mean / 255.0);
    st.std[static_cast<std::size_t>(ch)] = static_cast<float>(std::max(std::sqrt(var) / 255.0, 1e-6));
  }
  return st;
}

inline channel_statistics channel_stats(const dataset& set) {
  return channel_stats(set.pixels, cifar10_channels, cifar10_height, cifar10_width);
}

// out = (in / 255 - mean[c]) / std[c].
inline void normalize_zscore(std::span<const std::uint8_t> in, std::span<float> out, const batch_shape& s,
                             const channel_statistics& st) {
  detail::check_shape(s, in.size(), "normalize_zscore (input)");
  detail::check_shape(s, out.size(), "normalize_zscore (output)");
  if (st.mean.size() != static_cast<std::size_t>(s.c) || st.std.size() != static_cast<std::size_t>(s.c))
    throw augment_error("cnnzoo: normalize_zscore: statistics for " + std::to_string(st.mean.size()) +
                        " channels given for images with " + std::to_string(s.c));
  const std::size_t plane = s.plane();
  for (int i = 0; i < s.n; ++i)
    for (int ch = 0; ch < s.c; ++ch) {
      const std::size_t base = static_cast<std::size_t>(i) * s.image_size() + static_cast<std::size_t>(ch) * plane;
      // Subtract on the pixel scale first: exact for integer-valued means, so a constant channel
      // maps to 0 even when its tiny std amplifies every rounding error.
      const float mean255 = 255.0f * st.mean[static_cast<std::size_t>(ch)];
      const float scale = 1.0f / (255.0f * st.std[static_cast<std::size_t>(ch)]);
      for (std::size_t k = 0; k < plane; ++k) out[base + k] = (static_cast<float>(in[base + k]) - mean255) * scale;
    }
}

// Copies the images `indices` of `set` into a normalized float batch and their labels: the
// host side of "make a minibatch".
inline void gather_batch(const dataset& set, std::span<const std::size_t> indices, const channel_statistics& st,
                         std::span<float> out, std::span<std::uint8_t> labels) {
  const batch_shape s{static_cast<int>(indices.size())};
  detail::check_shape(s, out.size(), "gather_batch");
  if (labels.size() != indices.size())
    throw augment_error("cnnzoo: gather_batch: " + std::to_string(labels.size()) + " label slots for " +
                        std::to_string(indices.size()) + " images");
  for (std::size_t i = 0; i < indices.size(); ++i) {
    if (indices[i] >= set.size())
      throw augment_error("cnnzoo: gather_batch: image index " + std::to_string(indices[i]) +
                          " is outside a set of " + std::to_string(set.size()));
    normalize_zscore(set.image(indices[i]), out.subspan(i * s.image_size(), s.image_size()), batch_shape{1}, st);
    labels[i] = set.labels[indices[i]];
  }
}

// Zeroes the size x size box whose top-left corner is (cy - size/2, cx - size/2), clipped to the
// image (DeVries & Taylor 2017: the centre may lie anywhere, so the box is often partly outside).
struct box {
  int y0, y1, x0, x1;   // [y0, y1) x [x0, x1), possibly empty
};
inline box cutout_bounds(int h, int w, int cy, int cx, int size) {
  return {std::max(0, cy - size / 2), std::min(h, cy - size / 2 + size), std::max(0, cx - size / 2),
          std::min(w, cx - size / 2 + size)};
}

// ---- Keras ImageDataGenerator-style random affine --------------------------------------------------

// The seed's augmentation: ImageDataGenerator(rotation_range, width_shift_range,
// height_shift_range, shear_range, zoom_range, horizontal_flip, fill_mode='nearest').
// Ranges are as in Keras: degrees for rotation and shear, fractions of the image size for
// shifts, zoom factors drawn from [1 - zoom_range, 1 + zoom_range] for each axis independently.
struct affine_params {
  double rotation_range = 0;      // degrees
  double width_shift_range = 0;   // fraction of the width
  double height_shift_range = 0;  // fraction of the height
  double shear_range = 0;         // degrees
  double zoom_range = 0;          // zoom in [1 - z, 1 + z]
  bool horizontal_flip = false;
};

// An affine map from output (row, col) to input (row, col), as scipy's affine_transform takes it:
// in = m * out + offset.
struct affine_map {
  double m[2][2] = {{1, 0}, {0, 1}};
  double offset[2] = {0, 0};
  bool identity = true;
};

// Keras' apply_affine_transform: matrix = rotation * shift * shear * zoom (each only when not
// neutral), then conjugated so that it acts about the image centre. Keras uses h/2 + 0.5 as the
// centre, half a pixel off; the true centre (h - 1)/2 is used here so a rotation by 180 degrees
// maps the image exactly onto itself.
inline affine_map keras_affine(double theta_deg, double tx, double ty, double shear_deg, double zx, double zy, int h,
                               int w) {
  using mat = std::array<std::array<double, 3>, 3>;
  auto mul = [](const mat& a, const mat& b) {
    mat r{};
    for (std::size_t i = 0; i < 3; ++i)
      for (std::size_t j = 0; j < 3; ++j)
        for (std::size_t k = 0; k < 3; ++k) r[i][j] += a[i][k] * b[k][j];
    return r;
  };
  constexpr double deg = std::numbers::pi / 180.0;
  mat t{{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}};
  bool any = false;
  if (theta_deg != 0) {
    const double a = theta_deg * deg;
    t = mul(t, mat{{{std::cos(a), -std::sin(a), 0}, {std::sin(a), std::cos(a), 0}, {0, 0, 1}}});
    any = true;
  }
  if (tx != 0 || ty != 0) {
    t = mul(t, mat{{{1, 0, tx}, {0, 1, ty}, {0, 0, 1}}});
    any = true;
  }
  if (shear_deg != 0) {
    const double a = shear_deg * deg;
    t = mul(t, mat{{{1, -std::sin(a), 0}, {0, std::cos(a), 0}, {0, 0, 1}}});
    any = true;
  }
  if (zx != 1 || zy != 1) {
    t = mul(t, mat{{{zx, 0, 0}, {0, zy, 0}, {0, 0, 1}}});
    any = true;
  }
  affine_map out;
  if (!any) return out;
  const double oy = (h - 1) / 2.0, ox = (w - 1) / 2.0;
  t = mul(mul(mat{{{1, 0, oy}, {0, 1, ox}, {0, 0, 1}}}, t), mat{{{1, 0, -oy}, {0, 1, -ox}, {0, 0, 1}}});
  out.m[0][0] = t[0][0]; out.m[0][1] = t[0][1]; out.m[1][0] = t[1][0]; out.m[1][1] = t[1][1];
  out.offset[0] = t[0][2]; out.offset[1] = t[1][2];
  out.identity = false;
  return out;
}

// One image's draw of the random affine: the map and whether the image is then flipped.
struct affine_draw {
  affine_map map;
  bool flip = false;
};

// The ranges a transform can be drawn from. Beyond them (or NaN/inf) the map's coordinates stop
// being finite numbers, and the renderer would turn them into indices: refused here, for every caller.
inline constexpr double max_rotation_degrees = 180, max_shift_fraction = 1, max_shear_degrees = 80,
                        max_zoom_range = 0.9;

inline void check_affine_params(const affine_params& p) {
  auto within = [](double v, double hi) { return std::isfinite(v) && v >= 0 && v <= hi; };
  if (!within(p.rotation_range, max_rotation_degrees) || !within(p.width_shift_range, max_shift_fraction) ||
      !within(p.height_shift_range, max_shift_fraction) || !within(p.shear_range, max_shear_degrees) ||
      !within(p.zoom_range, max_zoom_range))
    throw augment_error("cnnzoo: random_affine: ranges must be finite, rotation in [0, 180] degrees, shifts in [0, 1], "
                        "shear in [0, 80] degrees, zoom in [0, 0.9] (got rotation " +
                        std::to_string(p.rotation_range) + ", shifts " + std::to_string(p.width_shift_range) + "/" +
                        std::to_string(p.height_shift_range) + ", shear " + std::to_string(p.shear_range) +
                        ", zoom " + std::to_string(p.zoom_range) + ")");
}

// Draws one transform the way Keras' get_random_transform does (a parameter that is zero draws
// nothing), then the flip with probability 1/2 if horizontal_flip is set. With every parameter
// zero the rng is not touched.
inline affine_draw draw_affine(const affine_params& p, int h, int w, rng& g) {
  const double theta = p.rotation_range != 0 ? g.uniform(-p.rotation_range, p.rotation_range) : 0.0;
  const double tx = p.height_shift_range != 0 ? g.uniform(-p.height_shift_range, p.height_shift_range) * h : 0.0;
  const double ty = p.width_shift_range != 0 ? g.uniform(-p.width_shift_range, p.width_shift_range) * w : 0.0;
  const double shear = p.shear_range != 0 ? g.uniform(-p.shear_range, p.shear_range) : 0.0;
  double zx = 1, zy = 1;
  if (p.zoom_range != 0) {
    zx = g.uniform(1 - p.zoom_range, 1 + p.zoom_range);
    zy = g.uniform(1 - p.zoom_range, 1 + p.zoom_range);
  }
  const bool flip = p.horizontal_flip && g.bernoulli(0.5);
  return {keras_affine(theta, tx, ty, shear, zx, zy, h, w), flip};
}

// ---- targets and mixup ---------------------------------------------------------------------------

// One-hot targets with label smoothing (Szegedy et al. 2016): (1 - eps) on the true class plus
// eps / classes everywhere, so every row sums to 1.
inline std::vector<float> smooth_targets(std::span<const std::uint8_t> labels, int classes, float eps) {
  if (classes <= 0) throw augment_error("cnnzoo: smooth_targets: the number of classes must be positive");
  if (!(eps >= 0.0f && eps < 1.0f))
    throw augment_error("cnnzoo: smooth_targets: label smoothing must be in [0, 1), got " + std::to_string(eps));
  std::vector<float> t(labels.size() * static_cast<std::size_t>(classes), eps / static_cast<float>(classes));
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] >= classes)
      throw augment_error("cnnzoo: smooth_targets: label " + std::to_string(labels[i]) + " of image " +
                          std::to_string(i) + " is not below the class count " + std::to_string(classes));
    t[i * static_cast<std::size_t>(classes) + labels[i]] += 1.0f - eps;
  }
  return t;
}

// mixup (Zhang et al. 2018) draws lambda ~ Beta(alpha, alpha) once per batch, as the paper's
// reference code does; per_sample draws one per image, as some Keras generators do.
enum class mixup_lambda { per_batch, per_sample };

// What mixup did: image i became lambda[i] * x[i] + (1 - lambda[i]) * x[partner[i]].
struct mixup_result {
  std::vector<std::uint32_t> partner;
  std::vector<float> lambda;
};

// Draws the partners (a random permutation) and weights of mixup for n images; alpha <= 0 draws
// nothing and pairs every image with itself at weight 1.
inline mixup_result draw_mixup(std::size_t n, double alpha, rng& g, mixup_lambda mode = mixup_lambda::per_batch) {
  mixup_result r{std::vector<std::uint32_t>(n), std::vector<float>(n, 1.0f)};
  for (std::size_t i = 0; i < n; ++i) r.partner[i] = static_cast<std::uint32_t>(i);
  if (!(alpha > 0) || n == 0) return r;
  for (std::size_t i = n - 1; i > 0; --i) std::swap(r.partner[i], r.partner[g.below(i + 1)]);  // Fisher-Yates
  if (mode == mixup_lambda::per_batch) {
    std::fill(r.lambda.begin(), r.lambda.end(), static_cast<float>(g.beta(alpha, alpha)));
  } else {
    for (auto& l : r.lambda) l = static_cast<float>(g.beta(alpha, alpha));
  }
  return r;
}

// ---- the whole host pipeline ------------------------------------------------------------------------

// rows[i] = lambda[i] * rows[i] + (1 - lambda[i]) * rows[partner[i]], for rows of `width` values.
inline void mix_rows(std::span<float> rows, std::size_t width, const mixup_result& r) {
  const std::vector<float> r0(rows.begin(), rows.end());
  for (std::size_t i = 0; i < r.partner.size(); ++i) {
    const float l = r.lambda[i], m = 1.0f - l;
    const std::size_t j = r.partner[i];
    for (std::size_t e = 0; e < width; ++e) rows[i * width + e] = l * r0[i * width + e] + m * r0[j * width + e];
  }
}

// The seed's augmentations in one place, applied in a fixed order (affine, crop, flip, cutout;
// mixup is separate because it also changes the targets).
struct augment_config {
  affine_params affine{};
  int crop_padding = 0;
  bool random_flip = false;  // independent of affine.horizontal_flip; use one or the other
  int cutout_size = 0;
};

}  // namespace cnnzoo::data
