// The zoo's learning check (CTest label `learning`, one test per row): does a row learn with its
// own default recipe (apps/train/recipe.cpp, the recipe cnnzoo-train --model NAME runs)?
//
//   test_zoo_learning MODEL [--threads N] [--batch B] [--steps S] [--epochs E] [--fit-steps F] [--lr LR]
//                           [--warmup FRACTION] [--init he_normal|glorot_uniform]
//
// --batch, --steps (per epoch) and --epochs override the short run's sizes (the fit's batch
// follows --batch, up to 10), to see how a row behaves beyond what CI can afford; --lr, --warmup
// (a fraction of the run) and --init try another recipe.
//
// Two trials on generated images (tests/support/learnable_data.hpp), each from freshly drawn weights:
//  1. fit: one fixed batch (one image of each class), trained again and again, must reach a loss
//     under 0.35 (15% of chance's) within a bounded number of steps. The recipe's initializer, optimiser and weight decay, at the recipe's peak learning
//     rate; no augmentation, mixup, label smoothing, dropout or drop-path, which exist to stop
//     exactly this (and label smoothing would put a floor under the loss).
//  2. learn: a short run of the recipe as cnnzoo-train runs it (augmentation, mixup, label
//     smoothing, dropout, warm-up and schedule, scaled to the short run): the training loss must
//     fall from the first epoch to the last, and the last epoch's accuracy (each batch predicted
//     by the forward pass before its update, so on images not yet learned in that epoch) must beat
//     chance (10%) clearly: it must pass 30% (SqueezeNet with He-normal kernels reaches 19%).
//     Held-out accuracy in inference mode is printed, not required: after a few dozen steps
//     BatchNorm's running averages still lag the weights (InceptionV3: 13% after 16 steps, 49%
//     after 24; VGG16 10% after 24, 80% after 48), so it measures the length of the run more than
//     the recipe. The trainer's tests check inference on longer runs.
//
// Sizes follow from each row's cost, so that the whole zoo fits in CI: a row gets a budget of
// training FLOPs per trial and the batch that fits it, from the recipe's batch down to 4 images
// for SENet154, never a skip. A batch k times smaller than the recipe's trains at a learning rate
// k times lower (the linear scaling rule of Goyal et al., 2017, "Accurate, Large Minibatch SGD").
// Exit status: 0 both trials passed, 1 a trial failed, 2 bad arguments.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include <cnnzoo/data/batch_plan.hpp>
#include <cnnzoo/data/cifar10.hpp>

#include "support/learnable_data.hpp"
#include "train/recipe.hpp"
#include "train/trainer.hpp"
#include "zoo/registry.hpp"

namespace {

using namespace cnnzoo;
using clock_type = std::chrono::steady_clock;
constexpr int classes = 10;

// How big the trials are for one row.
struct sizing {
  int recipe_batch = 128;      // the learning rate's batch: trials at a smaller one scale it down
  int fit_batch = 8;
  int fit_steps = 100;         // the most steps the fit may take (all but NIN and SqueezeNet take under 30)
  // The loss the fit must reach: 0.35, 15% of chance's ln 10 = 2.303. Every class fitted but at
  // most one: SqueezeNet's class maps are ReLU'd before the pool, and on a batch of one image per
  // class it loses one class unit for good (the loss stops at ln 10 / 10 = 0.230), with either
  // initializer; on real data it keeps all ten. The BatchNorm rows reach 0.1 within 30 steps.
  double fit_loss = 0.35;
  int learn_batch = 32;
  int learn_steps = 8;         // per epoch
  int learn_epochs = 3;
  int eval_images = 100;
  double learn_accuracy = 0.3; // the last epoch's accuracy to reach (chance is 10%)
};

// Training costs about three forward passes (forward, and backward to inputs and to weights). The
// short run gets about 2.5 TFLOP of training: the cheap rows train at their recipe's batch (or
// 32), ResNet18 at 16, the ResNet50 class at 8, never fewer than 4 images (BatchNorm's batch
// statistics over fewer say little): WideResNet at 4 (3 TFLOP); SENet154, at 4 images, also
// takes fewer steps and epochs (5.7 TFLOP). The held-out set gets about 0.3 TFLOP (20 to 100
// images); the fit takes up to 10 of the short run's images, and up to about 1 TFLOP.
sizing size_for(const zoo::model_info& m, const trainer::recipe& r) {
  sizing s;
  s.recipe_batch = r.batch_size;
  const double flops = static_cast<double>(m.flops), budget = 2.5e12;
  auto cost = [&] { return static_cast<double>(s.learn_batch) * s.learn_steps * s.learn_epochs * 3 * flops; };
  s.learn_batch = std::min(r.batch_size, 32);
  while (s.learn_batch > 4 && cost() > budget) s.learn_batch /= 2;
  while (s.learn_steps > 4 && cost() > 4 * budget) s.learn_steps /= 2;
  if (cost() > 4 * budget) s.learn_epochs = 2;
  // The cheapest rows (SqueezeNet, EfficientNetB0, ShuffleNetV2, InceptionV1) get longer runs for
  // the same compute, and fits of up to 800 steps: their time goes to overheads, not FLOPs.
  while (s.learn_steps < 32 && 2 * cost() <= budget / 4) s.learn_steps *= 2;
  s.fit_steps = std::clamp(static_cast<int>(1e12 / (3 * flops * std::min(10, s.learn_batch))), 100, 800);
  s.eval_images = std::clamp(static_cast<int>(0.3e12 / flops) / 10 * 10, 20, 100);
  s.fit_batch = std::min(10, s.learn_batch);
  return s;
}

double mean(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size()); }

struct fit_result {
  int steps = 0;          // steps taken
  double loss = 0;        // the last step's loss
  bool reached = false;
};

// Trial 1: one fixed batch until its loss is below s.fit_loss.
fit_result fit_one_batch(zoo::runner* net, trainer::recipe r, const sizing& s) {
  r.dropout = 0;   // regularisers off: this trial asks whether the network can fit at all
  trainer::configure(*net, r);
  net->options().drop_path = 0;
  const data::dataset batch = test::learnable_set(static_cast<std::size_t>(s.fit_batch), 11);
  net->set_training_images(batch.pixels, data::render_norm(data::channel_stats(batch)));
  std::vector<std::size_t> idx(static_cast<std::size_t>(s.fit_batch));
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  rng g(r.seed);
  const data::batch_plan plan = data::plan_batch(idx, batch.labels, data::augment_config{}, classes, 0.f, 0.0, g);
  net->optimizer().lr = r.lr * s.fit_batch / s.recipe_batch;
  fit_result out;
  for (int step = 0; step < s.fit_steps; ++step) {
    net->queue_step(plan.recipes, plan.targets, plan.labels, step);
    const ops::step_totals t = net->take_step_totals();
    out.steps = step + 1;
    out.loss = t.mean_loss();
    if (!std::isfinite(out.loss)) break;
    if (out.loss < s.fit_loss) {
      out.reached = true;
      break;
    }
  }
  return out;
}

struct learn_result {
  double first_loss = 0, last_loss = 0;  // mean training loss of the first and the last epoch
  double last_accuracy = 0;              // the last epoch's, each batch predicted before its update
  double held_out = 0;                   // held-out accuracy in inference mode
  bool finite = true;
};

// Trial 2: the recipe's own training loop, short, on generated images; then held-out accuracy.
learn_result learn_short_run(zoo::runner* net, trainer::recipe r, const sizing& s) {
  const int recipe_epochs = r.epochs;
  r.epochs = s.learn_epochs;
  r.warmup_epochs = r.warmup_epochs * s.learn_epochs / recipe_epochs;
  trainer::configure(*net, r);
  net->options().drop_path = -1;
  const data::dataset train_set = test::learnable_set(static_cast<std::size_t>(s.learn_batch * s.learn_steps), 1);
  const data::dataset held_out = test::learnable_set(static_cast<std::size_t>(s.eval_images), 2);
  const data::channel_statistics stats = data::channel_stats(train_set);
  net->set_training_images(train_set.pixels, data::render_norm(stats));
  trainer::recipe scaled = r;
  scaled.lr = r.lr * s.learn_batch / s.recipe_batch;
  const train::schedule lr_at = trainer::schedule_for(scaled, s.learn_steps);
  const data::augment_config aug = trainer::augmentation_for(r);
  rng data_rng(r.seed ^ 0xDA7A5EEDull);
  std::vector<std::size_t> order(train_set.size());
  learn_result out;
  std::int64_t step = 0;
  for (int epoch = 0; epoch < s.learn_epochs; ++epoch) {
    std::iota(order.begin(), order.end(), std::size_t{0});
    for (std::size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[data_rng.below(i + 1)]);
    std::vector<double> losses;
    std::uint64_t correct = 0, seen = 0;
    for (int b = 0; b < s.learn_steps; ++b, ++step) {
      const std::span<const std::size_t> idx(order.data() + static_cast<std::size_t>(b * s.learn_batch),
                                             static_cast<std::size_t>(s.learn_batch));
      const data::batch_plan plan = data::plan_batch(idx, train_set.labels, aug, classes,
                                                     static_cast<float>(r.label_smoothing), r.mixup_alpha, data_rng);
      net->optimizer().lr = lr_at(step);
      net->queue_step(plan.recipes, plan.targets, plan.labels, step);
      const ops::step_totals t = net->take_step_totals();
      losses.push_back(t.bad_steps ? NAN : t.mean_loss());
      correct += t.correct;
      seen += t.images;
      if (!std::isfinite(losses.back())) {
        out.finite = false;
        return out;
      }
    }
    if (epoch == 0) out.first_loss = mean(losses);
    out.last_loss = mean(losses);
    out.last_accuracy = static_cast<double>(correct) / static_cast<double>(seen);
  }
  out.held_out = trainer::evaluate(*net, held_out, stats).accuracy;  // as cnnzoo-train evaluates
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL [--threads N]\n", argv[0]);
    return 2;
  }
  int threads = 2, batch = 0, steps = 0, epochs = 0, fit_steps = 0;
  double lr = 0, warmup = -1;
  std::string init;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (a == "--batch" && i + 1 < argc) batch = std::atoi(argv[++i]);
    else if (a == "--steps" && i + 1 < argc) steps = std::atoi(argv[++i]);
    else if (a == "--epochs" && i + 1 < argc) epochs = std::atoi(argv[++i]);
    else if (a == "--fit-steps" && i + 1 < argc) fit_steps = std::atoi(argv[++i]);
    else if (a == "--lr" && i + 1 < argc) lr = std::atof(argv[++i]);
    else if (a == "--warmup" && i + 1 < argc) warmup = std::atof(argv[++i]);
    else if (a == "--init" && i + 1 < argc) init = argv[++i];
    else {
      std::fprintf(stderr, "%s: unknown argument '%s'\n", argv[0], a.c_str());
      return 2;
    }
  }
  const zoo::entry* e = zoo::find(argv[1]);
  if (!e) {
    std::fprintf(stderr, "%s: no zoo model '%s'\n", argv[0], argv[1]);
    return 2;
  }
  trainer::recipe r = trainer::seed_recipe(e->info);
  r.device = "cpu";
  r.threads = threads;
  r.seed = 1;
  if (lr > 0) r.lr = lr;
  if (warmup >= 0) r.warmup_epochs = warmup * r.epochs;
  if (!init.empty()) r.init = init;
  sizing s = size_for(e->info, r);
  if (batch > 0) s.learn_batch = batch, s.fit_batch = std::min(10, batch);
  if (steps > 0) s.learn_steps = steps;
  if (epochs > 0) s.learn_epochs = epochs;
  if (fit_steps > 0) s.fit_steps = fit_steps;
  std::printf("%s: recipe batch %d, lr %g, %s kernels, schedule %s%s; trials at batch %d (fit) and %d (learn)\n",
              e->info.name.c_str(), r.batch_size, r.lr, r.init.c_str(), r.schedule.c_str(),
              r.warmup_epochs > 0 ? "+warmup" : "", s.fit_batch, s.learn_batch);
  std::fflush(stdout);

  // One network for both trials (building SENet154 takes longer than its trials' steps): the
  // learn trial starts again from the fit's initial weights, state and zero momentum.
  const auto t0 = clock_type::now();
  trainer::recipe sized = r;
  sized.batch_size = s.learn_batch;
  const std::unique_ptr<zoo::runner> net = e->make(trainer::runner_options_for(sized));
  const std::vector<float> initial_params = net->params(), initial_state = net->state();
  const fit_result f = fit_one_batch(net.get(), r, s);
  const double fit_seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
  std::printf("  fit:   %d images to loss %.4f in %d steps (must reach %.2f within %d), %.1f s\n", s.fit_batch, f.loss,
              f.steps, s.fit_loss, s.fit_steps, fit_seconds);
  std::fflush(stdout);

  const auto t1 = clock_type::now();
  net->set_params(initial_params);
  net->set_state(initial_state);
  net->set_velocity(std::vector<float>(initial_params.size(), 0.f));
  const learn_result l = learn_short_run(net.get(), r, s);
  const double learn_seconds = std::chrono::duration<double>(clock_type::now() - t1).count();
  if (l.finite)
    std::printf("  learn: %d epochs of %d x %d images, training loss %.3f -> %.3f (must fall), last epoch's accuracy "
                "%.0f%% (must reach %.0f%%; chance 10%%), held-out accuracy %.0f%% of %d, %.1f s\n",
                s.learn_epochs, s.learn_steps, s.learn_batch, l.first_loss, l.last_loss, 100 * l.last_accuracy,
                100 * s.learn_accuracy, 100 * l.held_out, s.eval_images, learn_seconds);
  else
    std::printf("  learn: the training loss became non-finite\n");

  const bool ok = f.reached && l.finite && l.last_loss < l.first_loss && l.last_accuracy >= s.learn_accuracy;
  std::printf("%s: %s\n", e->info.name.c_str(), ok ? "learns" : "DOES NOT LEARN with its recipe");
  return ok ? 0 : 1;
}
