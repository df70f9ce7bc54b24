// The one training step (train::trainer) on the CPU: the batch-plan path the trainer takes
// (render from recipes, step, totals) equals a host-driven step on the same rendered batch, the
// totals count what happened, and a bad plan is refused before anything changes.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include <cnnzoo/data/batch_plan.hpp>
#include <cnnzoo/exec/eigen.hpp>
#include <cnnzoo/models/resnet.hpp>
#include <cnnzoo/train/step.hpp>

#include "support/random_images.hpp"

using namespace cnnzoo;

namespace {

struct small_resnet : models::pre_act_resnet<models::preact_basic_unit, 4, 1, 1, 1, 1> {};
using net_t = network<small_resnet, exec::eigen<float>>;

struct fixture {
  data::dataset set = testing::random_images(24, 5);
  std::vector<float> norm = data::render_norm(data::channel_stats(set));
  data::batch_plan plan(int n, std::uint64_t seed) const {
    rng g(seed);
    data::augment_config cfg;
    cfg.crop_padding = 4;
    cfg.random_flip = true;
    cfg.cutout_size = 8;
    std::vector<std::size_t> idx(static_cast<std::size_t>(n));
    for (auto& i : idx) i = g.below(24);
    return data::plan_batch(idx, set.labels, cfg, 10, 0.1f, 0.2, g);   // label smoothing and mixup
  }
};

}  // namespace

TEST_CASE("trainer: a queued batch plan steps as a host-driven step on the rendered batch", "[train][step]") {
  const fixture f;
  net_t a(8, 3), b(8, 3);
  train::trainer ta(a), tb(b);
  ta.set_images(f.set.pixels, f.norm);
  double loss_sum = 0;
  for (int s = 0; s < 3; ++s) {
    const data::batch_plan p = f.plan(8, 100 + s);
    ta.queue(p.recipes, p.targets, p.labels, s, 0.05);
    // The same step by hand: render on the host, then train on it.
    std::vector<float> x(p.recipes.size() * data::cifar10_image_bytes);
    data::render_host(p.recipes, f.set.pixels, f.norm, ops::render_geometry{}, x);
    tb.options().lr = 0.05;
    const double loss = tb.train_step_soft(x.data(), p.targets.data(), 8);
    loss_sum += loss * 8;
    CHECK(a.download_params() == b.download_params());
  }
  CHECK(ta.optimizer().download_velocity(a.policy()) == tb.optimizer().download_velocity(b.policy()));
  const ops::step_totals t = ta.take();
  CHECK(t.steps == 3);
  CHECK(t.images == 24);
  CHECK(t.bad_steps == 0);
  CHECK(t.loss_sum == Approx(loss_sum).epsilon(1e-12));
  CHECK(t.correct <= 24);
  CHECK(ta.take().steps == 0);   // take() resets
}

TEST_CASE("trainer: a non-finite loss is counted once with its step, and leaves the parameters alone",
          "[train][step]") {
  const fixture f;
  net_t net(8, 3);
  train::trainer t(net);
  t.set_images(f.set.pixels, f.norm);
  data::batch_plan p = f.plan(8, 7);
  t.queue(p.recipes, p.targets, p.labels, 40, 0.05);
  const std::vector<float> before = net.download_params();
  p.targets[5] = NAN;
  t.queue(p.recipes, p.targets, p.labels, 41, 0.05);
  t.queue(p.recipes, p.targets, p.labels, 42, 0.05);
  CHECK(net.download_params() == before);
  const ops::step_totals totals = t.take();
  CHECK(totals.steps == 3);
  CHECK(totals.images == 8);
  CHECK(totals.bad_steps == 2);
  CHECK(totals.first_bad_step == 41);
  CHECK(std::isnan(totals.first_bad_loss));
}

TEST_CASE("trainer: a plan that does not fit is refused before anything changes", "[train][step]") {
  const fixture f;
  net_t net(8, 3);
  train::trainer t(net);
  const data::batch_plan p = f.plan(8, 9);
  CHECK_THROWS_WITH(t.queue(p.recipes, p.targets, p.labels, 0, 0.05), Catch::Contains("before set_images"));
  t.set_images(f.set.pixels, f.norm);
  const std::vector<float> before = net.download_params();
  const std::vector<float> short_targets(p.targets.begin(), p.targets.end() - 1);
  CHECK_THROWS_WITH(t.queue(p.recipes, short_targets, p.labels, 0, 0.05), Catch::Contains("79 target values"));
  const data::batch_plan big = f.plan(8, 9);
  std::vector<ops::image_recipe> too_many = big.recipes;
  too_many.insert(too_many.end(), big.recipes.begin(), big.recipes.end());
  std::vector<float> targets2 = big.targets;
  targets2.insert(targets2.end(), big.targets.begin(), big.targets.end());
  std::vector<std::uint8_t> labels2 = big.labels;
  labels2.insert(labels2.end(), big.labels.begin(), big.labels.end());
  CHECK_THROWS_WITH(t.queue(too_many, targets2, labels2, 0, 0.05), Catch::Contains("capacity 8"));
  std::vector<ops::image_recipe> bad_source = p.recipes;
  bad_source[2].source = 24;   // one past the images
  CHECK_THROWS(t.queue(bad_source, p.targets, p.labels, 0, 0.05));
  CHECK(net.download_params() == before);
  CHECK(t.take().steps == 0);
}
