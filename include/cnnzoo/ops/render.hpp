#pragma once
// The per-pixel half of augmentation, shared by every execution policy.
//
// Augmentation is split in two. The host draws each image's random parameters (batch_plan.hpp:
// a few numbers per image, in the fixed order of the host pipeline, so runs stay reproducible
// and resumable), and the policy that trains turns raw 8-bit pixels into the augmented,
// normalized batch: on the CPU in a loop, on the GPU in a kernel over the batch, both calling
// render_value below. The dataset's bytes live in policy memory, so a GPU step uploads a few
// hundred bytes of parameters, never the images.
//
// render_value composes, for one output value, exactly what the host pipeline of augment.hpp
// does to a whole image: z-score normalization, the Keras-style affine (bilinear, edges
// clamped) and its flip, the padded random crop, the random flip, cutout, then mixup with a
// partner row. It is written without the standard library so that nvcc compiles it for the
// device (CNNZOO_HD is __host__ __device__ there).
#include <cstdint>

#include "../core/rng.hpp"   // CNNZOO_HD

namespace cnnzoo::ops {

// What happens to one image of a batch. Produced by plan_batch (batch_plan.hpp); a value-
// initialised recipe is "image 0, untouched".
struct image_recipe {
  std::uint32_t source = 0;    // index of the image in the uploaded set
  std::uint32_t partner = 0;   // mixup: row of the batch blended in (only when mixed)
  float lambda = 1.0f;         // mixup: weight of this row's own image
  std::int32_t mixed = 0;      // mixup applies
  // Affine map from output (row, col) to input (row, col): in = m * out + offset.
  double m00 = 1, m01 = 0, m10 = 0, m11 = 1, off_y = 0, off_x = 0;
  std::int32_t affine = 0;        // the map is not the identity
  std::int32_t affine_flip = 0;   // the affine stage's horizontal flip
  std::int32_t shift_y = 0, shift_x = 0;   // the random crop, as a shift of the content
  std::int32_t flip = 0;          // the random flip after the crop
  std::int32_t cut_y0 = 0, cut_y1 = 0, cut_x0 = 0, cut_x1 = 0;   // cutout box, [y0, y1) x [x0, x1)
};

// Shapes and normalization for render_value. `norm` holds 2 * c floats: per channel the mean on
// the pixel scale (255 * mean) and 1 / (255 * std), computed as normalize_zscore computes them.
struct render_geometry {
  int c = 3, h = 32, w = 32;
};

namespace render_detail {

CNNZOO_HD inline double clamp_to(double v, double hi) { return v < 0.0 ? 0.0 : (v > hi ? hi : v); }

// The normalized value of channel ch at integer (y, x) of the source image.
CNNZOO_HD inline float normalized(const std::uint8_t* img, const float* norm, const render_geometry& g, int ch, int y,
                                  int x) {
  const float v = static_cast<float>(img[(static_cast<long long>(ch) * g.h + y) * g.w + x]);
  return (v - norm[2 * ch]) * norm[2 * ch + 1];
}

// One row's augmented value before mixup.
CNNZOO_HD inline float unmixed(const image_recipe& r, const std::uint8_t* pixels, const float* norm,
                               const render_geometry& g, int ch, int y, int x) {
  if (y >= r.cut_y0 && y < r.cut_y1 && x >= r.cut_x0 && x < r.cut_x1) return 0.0f;   // cutout
  if (r.flip) x = g.w - 1 - x;                                                       // random flip
  y -= r.shift_y;                                                                    // crop: zero fill
  x -= r.shift_x;
  if (y < 0 || y >= g.h || x < 0 || x >= g.w) return 0.0f;
  if (r.affine_flip) x = g.w - 1 - x;
  const std::uint8_t* img = pixels + static_cast<long long>(r.source) * g.c * g.h * g.w;
  if (!r.affine) return normalized(img, norm, g, ch, y, x);
  // Bilinear with fill_mode='nearest', in the same operations as apply_affine.
  const double sy = clamp_to(r.m00 * y + r.m01 * x + r.off_y, static_cast<double>(g.h - 1));
  const double sx = clamp_to(r.m10 * y + r.m11 * x + r.off_x, static_cast<double>(g.w - 1));
  const int y0 = static_cast<int>(sy), x0 = static_cast<int>(sx);   // sy, sx >= 0: truncation is floor
  const int y1 = y0 + 1 < g.h ? y0 + 1 : g.h - 1, x1 = x0 + 1 < g.w ? x0 + 1 : g.w - 1;
  const float fy = static_cast<float>(sy - y0), fx = static_cast<float>(sx - x0);
  const float p00 = normalized(img, norm, g, ch, y0, x0), p01 = normalized(img, norm, g, ch, y0, x1);
  const float p10 = normalized(img, norm, g, ch, y1, x0), p11 = normalized(img, norm, g, ch, y1, x1);
  const float top = p00 + fx * (p01 - p00);
  const float bottom = p10 + fx * (p11 - p10);
  return top + fy * (bottom - top);
}

}  // namespace render_detail

// Value i of the rendered batch (NCHW, n * c * h * w values) described by `recipes`.
CNNZOO_HD inline float render_value(const image_recipe* recipes, const std::uint8_t* pixels, const float* norm,
                                    const render_geometry& g, std::uint64_t i) {
  const std::uint64_t plane = static_cast<std::uint64_t>(g.h) * g.w, image = plane * g.c;
  const std::uint64_t row = i / image, within = i % image;
  const int ch = static_cast<int>(within / plane);
  const int y = static_cast<int>(within % plane / g.w), x = static_cast<int>(within % g.w);
  const image_recipe& r = recipes[row];
  const float own = render_detail::unmixed(r, pixels, norm, g, ch, y, x);
  if (!r.mixed) return own;
  const float other = render_detail::unmixed(recipes[r.partner], pixels, norm, g, ch, y, x);
  return r.lambda * own + (1.0f - r.lambda) * other;
}

}  // namespace cnnzoo::ops
