#pragma once
// The host augmentation pipeline, image by image in float: z-score normalisation is in the library
// (data/augment.hpp); the Keras-style affine, the padded random crop, the random flip, cutout and
// mixup applied to whole images are here, as the tests' oracle. The library draws the same random
// numbers in the same order (data::plan_batch) and every policy renders the batch from them
// (ops/render.hpp); tests/data/batch_plan.cpp and tests/cuda/functors.cpp check that the two agree.
#include <algorithm>
#include <cmath>
#include <span>
#include <string>
#include <vector>

#include <cnnzoo/data/augment.hpp>

namespace cnnzoo::data {


// ---- flips, crops, cutout ------------------------------------------------------------------------

inline void hflip_image(float* img, int c, int h, int w) {
  for (int r = 0; r < c * h; ++r) std::reverse(img + static_cast<std::ptrdiff_t>(r) * w, img + static_cast<std::ptrdiff_t>(r + 1) * w);
}

// Mirrors every image left to right.
inline void hflip(std::span<float> x, const batch_shape& s) {
  detail::check_shape(s, x.size(), "hflip");
  for (int i = 0; i < s.n; ++i) hflip_image(x.data() + static_cast<std::size_t>(i) * s.image_size(), s.c, s.h, s.w);
}

// Mirrors each image with probability p.
inline void random_hflip(std::span<float> x, const batch_shape& s, rng& g, double p = 0.5) {
  detail::check_shape(s, x.size(), "random_hflip");
  for (int i = 0; i < s.n; ++i)
    if (g.bernoulli(p)) hflip_image(x.data() + static_cast<std::size_t>(i) * s.image_size(), s.c, s.h, s.w);
}

// Moves the content of one image by (dy, dx) pixels (down and right when positive); what moves
// in from outside is zero, which after z-score normalization is the data set's mean colour.
inline void shift_image(float* img, int c, int h, int w, int dy, int dx) {
  const int y0 = std::max(0, dy), y1 = std::min(h, h + dy);
  const int x0 = std::max(0, dx), x1 = std::min(w, w + dx);
  const std::size_t plane = static_cast<std::size_t>(h) * static_cast<std::size_t>(w);
  for (int ch = 0; ch < c; ++ch) {
    float* p = img + static_cast<std::size_t>(ch) * plane;
    if (y0 >= y1 || x0 >= x1) {
      std::fill(p, p + plane, 0.0f);
      continue;
    }
    // Walk in the direction that never reads a row or column already overwritten.
    auto row = [&](int y) {
      float* dst = p + static_cast<std::ptrdiff_t>(y) * w;
      if (y < y0 || y >= y1) { std::fill(dst, dst + w, 0.0f); return; }
      const float* src = p + static_cast<std::ptrdiff_t>(y - dy) * w;
      if (dx >= 0) for (int x = w - 1; x >= 0; --x) dst[x] = (x >= x0 && x < x1) ? src[x - dx] : 0.0f;
      else         for (int x = 0; x < w; ++x)      dst[x] = (x >= x0 && x < x1) ? src[x - dx] : 0.0f;
    };
    if (dy >= 0) for (int y = h - 1; y >= 0; --y) row(y);
    else         for (int y = 0; y < h; ++y) row(y);
  }
}

// Random crop with zero padding: pad each side by `pad`, take an HxW window at an offset in
// [0, 2*pad] along each axis. Equivalent to shifting the image by (pad - offset).
inline void random_crop(std::span<float> x, const batch_shape& s, int pad, rng& g) {
  detail::check_shape(s, x.size(), "random_crop");
  if (pad < 0) throw augment_error("cnnzoo: random_crop: padding must be >= 0, got " + std::to_string(pad));
  if (pad == 0) return;
  const auto span = static_cast<std::uint64_t>(2 * pad + 1);
  for (int i = 0; i < s.n; ++i) {
    const int oy = static_cast<int>(g.below(span)), ox = static_cast<int>(g.below(span));
    shift_image(x.data() + static_cast<std::size_t>(i) * s.image_size(), s.c, s.h, s.w, pad - oy, pad - ox);
  }
}
inline void cutout_box(float* img, int c, int h, int w, int cy, int cx, int size) {
  const auto [y0, y1, x0, x1] = cutout_bounds(h, w, cy, cx, size);
  for (int ch = 0; ch < c; ++ch)
    for (int y = y0; y < y1; ++y) {
      float* row = img + (static_cast<std::ptrdiff_t>(ch) * h + y) * w;
      std::fill(row + x0, row + std::max(x0, x1), 0.0f);
    }
}

inline void cutout(std::span<float> x, const batch_shape& s, int size, rng& g) {
  detail::check_shape(s, x.size(), "cutout");
  if (size < 0) throw augment_error("cnnzoo: cutout: the box size must be >= 0, got " + std::to_string(size));
  if (size == 0) return;
  for (int i = 0; i < s.n; ++i) {
    const int cy = static_cast<int>(g.below(static_cast<std::uint64_t>(s.h)));
    const int cx = static_cast<int>(g.below(static_cast<std::uint64_t>(s.w)));
    cutout_box(x.data() + static_cast<std::size_t>(i) * s.image_size(), s.c, s.h, s.w, cy, cx, size);
  }
}

// Resamples one CHW image through `map` with bilinear interpolation (Keras' order=1) and
// fill_mode='nearest' (coordinates outside the image are clamped to its edge). The identity map
// copies the input exactly; an integer translation reproduces pixels exactly too, because the
// interpolation weights are then exactly 0 and 1.
inline void apply_affine(const float* in, float* out, int c, int h, int w, const affine_map& map) {
  const std::size_t plane = static_cast<std::size_t>(h) * static_cast<std::size_t>(w);
  if (map.identity) {
    std::copy(in, in + static_cast<std::size_t>(c) * plane, out);
    return;
  }
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const double sy = std::clamp(map.m[0][0] * y + map.m[0][1] * x + map.offset[0], 0.0, static_cast<double>(h - 1));
      const double sx = std::clamp(map.m[1][0] * y + map.m[1][1] * x + map.offset[1], 0.0, static_cast<double>(w - 1));
      const int y0 = static_cast<int>(std::floor(sy)), x0 = static_cast<int>(std::floor(sx));
      const int y1 = std::min(y0 + 1, h - 1), x1 = std::min(x0 + 1, w - 1);
      const float fy = static_cast<float>(sy - y0), fx = static_cast<float>(sx - x0);
      const std::ptrdiff_t i00 = static_cast<std::ptrdiff_t>(y0) * w + x0, i01 = static_cast<std::ptrdiff_t>(y0) * w + x1;
      const std::ptrdiff_t i10 = static_cast<std::ptrdiff_t>(y1) * w + x0, i11 = static_cast<std::ptrdiff_t>(y1) * w + x1;
      const std::ptrdiff_t o = static_cast<std::ptrdiff_t>(y) * w + x;
      for (int ch = 0; ch < c; ++ch) {
        const float* p = in + static_cast<std::size_t>(ch) * plane;
        const float top = p[i00] + fx * (p[i01] - p[i00]);
        const float bottom = p[i10] + fx * (p[i11] - p[i10]);
        (out + static_cast<std::size_t>(ch) * plane)[o] = top + fy * (bottom - top);
      }
    }
}

// Applies one draw_affine per image: the batch is left exactly as it was when every parameter is zero.
inline void random_affine(std::span<float> x, const batch_shape& s, const affine_params& p, rng& g) {
  detail::check_shape(s, x.size(), "random_affine");
  check_affine_params(p);
  std::vector<float> scratch(s.image_size());
  for (int i = 0; i < s.n; ++i) {
    float* img = x.data() + static_cast<std::size_t>(i) * s.image_size();
    const affine_draw d = draw_affine(p, s.h, s.w, g);
    if (!d.map.identity) {
      apply_affine(img, scratch.data(), s.c, s.h, s.w, d.map);
      std::copy(scratch.begin(), scratch.end(), img);
    }
    if (d.flip) hflip_image(img, s.c, s.h, s.w);
  }
}


inline void check_targets(std::size_t size, int n, int classes, const char* what) {
  if (classes <= 0 || size != static_cast<std::size_t>(n) * static_cast<std::size_t>(classes))
    throw augment_error(std::string("cnnzoo: ") + what + ": targets hold " + std::to_string(size) +
                        " values, expected " + std::to_string(n) + " images x " + std::to_string(classes) + " classes");
}

// Mixes the batch with a random permutation of itself, images and soft targets (N x classes,
// typically from smooth_targets) alike. alpha <= 0 leaves both unchanged.
inline mixup_result mixup(std::span<float> x, const batch_shape& s, std::span<float> targets, int classes,
                          double alpha, rng& g, mixup_lambda mode = mixup_lambda::per_batch) {
  detail::check_shape(s, x.size(), "mixup");
  check_targets(targets.size(), s.n, classes, "mixup");
  mixup_result r = draw_mixup(static_cast<std::size_t>(s.n), alpha, g, mode);
  if (!(alpha > 0) || s.n == 0) return r;
  mix_rows(x, s.image_size(), r);
  mix_rows(targets, static_cast<std::size_t>(classes), r);
  return r;
}

inline void augment_batch(std::span<float> x, const batch_shape& s, const augment_config& cfg, rng& g) {
  random_affine(x, s, cfg.affine, g);
  random_crop(x, s, cfg.crop_padding, g);
  if (cfg.random_flip) random_hflip(x, s, g);
  cutout(x, s, cfg.cutout_size, g);
}

}  // namespace cnnzoo::data
