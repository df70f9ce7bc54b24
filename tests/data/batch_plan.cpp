// The planned pipeline against the host reference: recipes drawn by plan_batch and rendered
// value by value (what the Eigen and CUDA policies' render_batch do) give the batch that
// gather_batch + augment_batch + smooth_targets + mixup give, from the same rng state, and leave
// the rng in the same state.
#include <catch2/catch.hpp>

#include <cnnzoo/data/batch_plan.hpp>

#include "support/augment_oracle.hpp"
#include "support/random_images.hpp"

#include <cmath>
#include <numeric>

using namespace cnnzoo::data;
using cnnzoo::rng;

namespace {

struct host_batch {
  std::vector<float> x, targets;
};

host_batch reference(const dataset& d, std::span<const std::size_t> idx, const channel_statistics& st,
                     const augment_config& cfg, float eps, double alpha, rng& g) {
  host_batch b;
  b.x.resize(idx.size() * cifar10_image_bytes);
  std::vector<std::uint8_t> labels(idx.size());
  gather_batch(d, idx, st, b.x, labels);
  const batch_shape s{static_cast<int>(idx.size())};
  augment_batch(b.x, s, cfg, g);
  b.targets = smooth_targets(labels, 10, eps);
  mixup(b.x, s, b.targets, 10, alpha, g);
  return b;
}

std::vector<float> rendered(const dataset& d, const batch_plan& p, const channel_statistics& st) {
  std::vector<float> out(p.recipes.size() * cifar10_image_bytes);
  render_host(p.recipes, d.pixels, render_norm(st), render_geometry{}, out);
  return out;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(double(a[i]) - double(b[i])));
  return m;
}

}  // namespace

TEST_CASE("a rendered plan is the host pipeline's batch, for every augmentation", "[data][plan]") {
  const dataset d = cnnzoo::testing::random_images(40, 7);
  const channel_statistics st = channel_stats(d);
  std::vector<std::size_t> idx{3, 17, 17, 0, 39, 8, 21, 5, 12, 30, 2};

  struct variant {
    const char* name;
    augment_config cfg;
    float eps;
    double alpha;
    bool exact;   // only copies and normalization: bit-identical
  };
  augment_config crop_flip_cut;
  crop_flip_cut.crop_padding = 4;
  crop_flip_cut.random_flip = true;
  crop_flip_cut.cutout_size = 8;
  augment_config seed_affine;
  seed_affine.affine = {15, 0.1, 0.1, 10, 0.1, true};
  augment_config everything = seed_affine;
  everything.crop_padding = 2;
  everything.random_flip = true;
  everything.cutout_size = 16;
  const variant variants[] = {
      {"nothing", augment_config{}, 0.0f, 0.0, true},
      {"crop, flip, cutout", crop_flip_cut, 0.1f, 0.0, true},
      {"Keras affine with flip", seed_affine, 0.0f, 0.0, false},
      {"mixup only", augment_config{}, 0.0f, 0.2, false},
      {"everything", everything, 0.1f, 1.0, false},
  };
  for (const variant& v : variants) {
    SECTION(v.name) {
      for (std::uint64_t seed : {1u, 2u, 3u}) {
        rng a(seed), b(seed);
        const host_batch want = reference(d, idx, st, v.cfg, v.eps, v.alpha, a);
        const batch_plan plan = plan_batch(idx, d.labels, v.cfg, 10, v.eps, v.alpha, b);
        CHECK(a.state() == b.state());
        const std::vector<float> got = rendered(d, plan, st);
        if (v.exact) CHECK(got == want.x);
        else CHECK(max_abs_diff(got, want.x) < 1e-5);
        CHECK(max_abs_diff(plan.targets, want.targets) == 0.0);
        for (std::size_t i = 0; i < idx.size(); ++i) CHECK(plan.labels[i] == d.labels[idx[i]]);
      }
    }
  }
}

TEST_CASE("a plan without augmentation renders the z-scored images", "[data][plan]") {
  const dataset d = cnnzoo::testing::random_images(5, 11);
  const channel_statistics st = channel_stats(d);
  const std::vector<std::size_t> idx{4, 0, 2};
  rng g(5);
  const batch_plan plan = plan_batch(idx, d.labels, augment_config{}, 10, 0.0f, 0.0, g);
  CHECK(g.state() == rng(5).state());   // nothing to draw
  std::vector<float> want(idx.size() * cifar10_image_bytes);
  for (std::size_t i = 0; i < idx.size(); ++i)
    normalize_zscore(d.image(idx[i]), std::span<float>(want).subspan(i * cifar10_image_bytes, cifar10_image_bytes),
                     batch_shape{1}, st);
  CHECK(rendered(d, plan, st) == want);
}

TEST_CASE("plans and renders refuse what does not fit", "[data][plan]") {
  const dataset d = cnnzoo::testing::random_images(4, 3);
  rng g(1);
  const std::vector<std::size_t> outside{1, 4};
  CHECK_THROWS_WITH(plan_batch(outside, d.labels, augment_config{}, 10, 0.0f, 0.0, g),
                    Catch::Contains("image index 4 is outside a set of 4"));
  augment_config bad;
  bad.crop_padding = -1;
  const std::vector<std::size_t> idx{0};
  CHECK_THROWS_WITH(plan_batch(idx, d.labels, bad, 10, 0.0f, 0.0, g), Catch::Contains("padding must be in [0, 32], got -1"));
  batch_plan p = plan_batch(idx, d.labels, augment_config{}, 10, 0.0f, 0.0, g);
  p.recipes[0].source = 9;
  std::vector<float> out(cifar10_image_bytes);
  CHECK_THROWS_WITH(render_host(p.recipes, d.pixels, render_norm(channel_stats(d)), render_geometry{}, out),
                    Catch::Contains("names image 9"));
}
