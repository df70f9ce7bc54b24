#pragma once
// The host half of augmentation: per image, the random parameters of the seed's pipeline, drawn
// from the rng in exactly the order augment_batch followed by mixup draws them. The policy that
// trains renders the pixels from these recipes (ops/render.hpp; the Eigen and CUDA policies'
// render_batch op), so the CPU and the GPU see the same augmented batch for the same rng state,
// and a batch costs the GPU a few hundred bytes of upload instead of the images.
//
//   data::batch_plan plan = data::plan_batch(indices, labels_of_set, cfg, mixup_alpha, eps, rng);
//   policy.render_batch(plan.recipes..., device_pixels, norm, input);   // see zoo runners
#include <algorithm>
#include <cstddef>
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "augment.hpp"
#include "../ops/render.hpp"

namespace cnnzoo::data {

// A plan is a batch of render recipes, the op vocabulary's description of one augmented image.
using ops::image_recipe;
using ops::render_geometry;

// A planned minibatch: one recipe per image and the soft targets (n x classes), label smoothing
// and mixup applied.
struct batch_plan {
  std::vector<image_recipe> recipes;
  std::vector<float> targets;
  std::vector<std::uint8_t> labels;   // the true labels, for training accuracy
};

// The normalization table render_value reads: per channel 255 * mean, then 1 / (255 * std), the
// same float operations as normalize_zscore.
inline std::vector<float> render_norm(const channel_statistics& st) {
  if (st.mean.size() != st.std.size() || st.mean.empty())
    throw augment_error("cnnzoo: render_norm: statistics for " + std::to_string(st.mean.size()) + " means and " +
                        std::to_string(st.std.size()) + " standard deviations");
  std::vector<float> norm(2 * st.mean.size());
  for (std::size_t ch = 0; ch < st.mean.size(); ++ch) {
    norm[2 * ch] = 255.0f * st.mean[ch];
    norm[2 * ch + 1] = 1.0f / (255.0f * st.std[ch]);
  }
  return norm;
}

// Recipes for the images `indices` of a set with `labels`: augment_batch(cfg) and then
// mixup(alpha) would draw the same numbers from `g`, and rendering the recipes gives the batch
// they would produce. Images are `shape` sized (shape.n is ignored).
inline batch_plan plan_batch(std::span<const std::size_t> indices, std::span<const std::uint8_t> labels,
                             const augment_config& cfg, int classes, float label_smoothing, double mixup_alpha, rng& g,
                             batch_shape shape = {}) {
  const std::size_t n = indices.size();
  if (cfg.crop_padding < 0 || cfg.crop_padding > shape.h || cfg.crop_padding > shape.w)
    throw augment_error("cnnzoo: random_crop: padding must be in [0, " + std::to_string(std::min(shape.h, shape.w)) +
                        "], got " + std::to_string(cfg.crop_padding));
  if (cfg.cutout_size < 0 || cfg.cutout_size > std::max(shape.h, shape.w))
    throw augment_error("cnnzoo: cutout: the box size must be in [0, " + std::to_string(std::max(shape.h, shape.w)) +
                        "], got " + std::to_string(cfg.cutout_size));
  if (!(std::isfinite(mixup_alpha) && mixup_alpha >= 0))
    throw augment_error("cnnzoo: mixup: alpha must be a finite number >= 0, got " + std::to_string(mixup_alpha));
  if (!(label_smoothing >= 0 && label_smoothing < 1))
    throw augment_error("cnnzoo: label smoothing must be in [0, 1), got " + std::to_string(label_smoothing));
  check_affine_params(cfg.affine);
  batch_plan p;
  p.recipes.resize(n);
  p.labels.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (indices[i] >= labels.size())
      throw augment_error("cnnzoo: plan_batch: image index " + std::to_string(indices[i]) +
                          " is outside a set of " + std::to_string(labels.size()));
    p.recipes[i].source = static_cast<std::uint32_t>(indices[i]);
    p.labels[i] = labels[indices[i]];
  }
  // The same loops, in the same order, as augment_batch: affine, crop, flip, cutout.
  for (image_recipe& r : p.recipes) {
    const affine_draw d = draw_affine(cfg.affine, shape.h, shape.w, g);
    r.affine = !d.map.identity;
    r.m00 = d.map.m[0][0]; r.m01 = d.map.m[0][1]; r.m10 = d.map.m[1][0]; r.m11 = d.map.m[1][1];
    r.off_y = d.map.offset[0]; r.off_x = d.map.offset[1];
    r.affine_flip = d.flip;
  }
  if (cfg.crop_padding > 0) {
    const auto span = static_cast<std::uint64_t>(2 * cfg.crop_padding + 1);
    for (image_recipe& r : p.recipes) {
      r.shift_y = cfg.crop_padding - static_cast<int>(g.below(span));
      r.shift_x = cfg.crop_padding - static_cast<int>(g.below(span));
    }
  }
  if (cfg.random_flip)
    for (image_recipe& r : p.recipes) r.flip = g.bernoulli(0.5);
  if (cfg.cutout_size > 0)
    for (image_recipe& r : p.recipes) {
      const int cy = static_cast<int>(g.below(static_cast<std::uint64_t>(shape.h)));
      const int cx = static_cast<int>(g.below(static_cast<std::uint64_t>(shape.w)));
      const box b = cutout_bounds(shape.h, shape.w, cy, cx, cfg.cutout_size);
      r.cut_y0 = b.y0; r.cut_y1 = b.y1; r.cut_x0 = b.x0; r.cut_x1 = b.x1;
    }
  p.targets = smooth_targets(p.labels, classes, label_smoothing);
  const mixup_result mix = draw_mixup(n, mixup_alpha, g);
  if (mixup_alpha > 0 && n > 0) {
    mix_rows(p.targets, static_cast<std::size_t>(classes), mix);
    for (std::size_t i = 0; i < n; ++i) {
      p.recipes[i].mixed = 1;
      p.recipes[i].partner = mix.partner[i];
      p.recipes[i].lambda = mix.lambda[i];
    }
  }
  return p;
}

// Throws unless `pixels` is a whole, non-empty number of images of `image` values and `norm` is
// render_norm's table for `channels` channels.
inline void check_training_images(std::span<const std::uint8_t> pixels, std::span<const float> norm, int channels,
                                  std::size_t image) {
  if (pixels.empty() || image == 0 || pixels.size() % image != 0 || norm.size() != 2 * static_cast<std::size_t>(channels))
    throw augment_error("cnnzoo: training images of " + std::to_string(pixels.size()) + " bytes and " +
                        std::to_string(norm.size()) + " normalization values do not fit a " + std::to_string(image) +
                        "-value input of " + std::to_string(channels) + " channels");
}

// Throws unless every recipe names an image of a set of `images` and a row of its own batch: the
// renderers read these indices unchecked (on the GPU an outside one would not even fault).
inline void check_recipes(std::span<const image_recipe> recipes, std::size_t images) {
  for (const image_recipe& r : recipes)
    if (r.source >= images || r.partner >= recipes.size())
      throw augment_error("cnnzoo: a recipe names image " + std::to_string(r.source) + " of a set of " +
                          std::to_string(images) + " or batch row " + std::to_string(r.partner) + " of " +
                          std::to_string(recipes.size()));
}

// Renders a plan on the host: the CPU side of render_batch, and the reference for the GPU's.
// `pixels` is the whole set (8-bit CHW images), `out` receives n * c * h * w floats.
inline void render_host(std::span<const image_recipe> recipes, std::span<const std::uint8_t> pixels,
                        std::span<const float> norm, const render_geometry& g, std::span<float> out) {
  const std::size_t image = static_cast<std::size_t>(g.c) * g.h * g.w;
  if (out.size() != recipes.size() * image || norm.size() != 2 * static_cast<std::size_t>(g.c))
    throw augment_error("cnnzoo: render_host: " + std::to_string(out.size()) + " output values and " +
                        std::to_string(norm.size()) + " normalization values for " + std::to_string(recipes.size()) +
                        " images of " + std::to_string(image));
  check_recipes(recipes, pixels.size() / image);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = ops::render_value(recipes.data(), pixels.data(), norm.data(), g, i);
}

}  // namespace cnnzoo::data
