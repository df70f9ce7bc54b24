// Device steps and CUDA graphs (train::trainer, train::graph_trainer), the way cnnzoo-train runs
// on a GPU:
//  - device steps (loss, accuracy and learning rate in GPU memory, batch rendered on the GPU)
//    update the parameters as the host-driven train_step_soft does, clipping included;
//  - replaying the captured graph updates them as the same steps launched eagerly do, and the
//    replays really happen (status);
//  - a step with a non-finite loss leaves the parameters alone and is counted with its number.
#include <catch2/catch.hpp>

#include <cmath>

#include <cnnzoo/data/batch_plan.hpp>
#include <cnnzoo/models/resnet.hpp>
#include <cnnzoo/train/graph_step.hpp>

#include "gpu_support.hpp"
#include "support/random_images.hpp"

using namespace cnnzoo;
using namespace cnnzoo::testing::gpu;

namespace {

struct small_resnet : models::pre_act_resnet<models::preact_basic_unit, 8, 1, 1, 1, 1> {};

// 32 random images, batches planned with crop, flip, cutout and label smoothing: rendering them
// only copies normalized values, so the GPU's batch equals the host's exactly.
struct fixture {
  data::dataset set;
  std::vector<float> norm;
  std::vector<data::batch_plan> plans;
  fixture(int batch, int steps) {
    rng g(3);
    set = testing::random_images(32, 2);
    norm = data::render_norm(data::channel_stats(set));
    data::augment_config cfg;
    cfg.crop_padding = 4;
    cfg.random_flip = true;
    cfg.cutout_size = 8;
    for (int s = 0; s < steps; ++s) {
      std::vector<std::size_t> idx(static_cast<std::size_t>(batch));
      for (auto& i : idx) i = g.below(32);
      plans.push_back(data::plan_batch(idx, set.labels, cfg, 10, 0.1f, 0.0, g));
    }
  }
  std::vector<float> host_images(const data::batch_plan& p) const {
    std::vector<float> x(p.recipes.size() * data::cifar10_image_bytes);
    data::render_host(p.recipes, set.pixels, norm, ops::render_geometry{}, x);
    return x;
  }
};

template <class P>
using net_t = network<small_resnet, exec::cuda<P>>;

template <class Trainer>
void configure(Trainer& t, double clip) {
  t.options().lr = 0.05;
  t.options().clip_norm = clip;
}

template <class P>
vec params_of(const net_t<P>& net) {
  const std::vector<float> p = net.download_params();
  return vec(p.begin(), p.end());
}

}  // namespace

TEMPLATE_TEST_CASE("graph_trainer: device steps update the parameters as host-driven steps do",
                   "[cuda][gpu][graph]", fp32, bf16) {
  using T = typename exec::cuda<TestType>::value_type;
  const int batch = 16, steps = 4;
  const fixture f(batch, steps);
  for (double clip : {0.0, 0.5}) {
    INFO("clip norm " << clip);
    net_t<TestType> host(batch, 9, exec::cuda<TestType>(fixed_loss_scale())),
        device(batch, 9, exec::cuda<TestType>(fixed_loss_scale()));
    train::trainer<net_t<TestType>> host_trainer(host);
    train::graph_trainer<net_t<TestType>> stepper(device, /*use_graphs=*/false);
    configure(host_trainer, clip);
    configure(stepper, clip);
    stepper.set_images(f.set.pixels, f.norm);
    double loss_sum = 0;
    for (int s = 0; s < steps; ++s) {
      const data::batch_plan& p = f.plans[static_cast<std::size_t>(s)];
      const std::vector<float> x = f.host_images(p);
      const std::vector<T> t(p.targets.begin(), p.targets.end());
      loss_sum += host_trainer.train_step_soft(x.data(), t.data(), batch) * batch;
      stepper.queue(p.recipes, p.targets, p.labels, s, 0.05);
    }
    const ops::step_totals totals = stepper.take();
    CHECK(totals.steps == steps);
    CHECK(totals.bad_steps == 0);
    CHECK(totals.images == std::size_t(batch) * steps);
    CHECK(totals.loss_sum == Approx(loss_sum).epsilon(1e-4));
    CNNZOO_CHECK_REL("parameters after device steps", params_of<TestType>(device), params_of<TestType>(host),
                     tolerance<TestType>::reduction);
  }
}

TEMPLATE_TEST_CASE("graph_trainer: graph replays match the same steps launched eagerly", "[cuda][gpu][graph]", fp32,
                   bf16, fp16) {
  const int batch = 16, steps = 7;
  const fixture f(batch, steps);
  // fp16 at a fixed loss scale: an overflow in one network and not the other is no defect.
  net_t<TestType> eager(batch, 9, exec::cuda<TestType>(fixed_loss_scale())),
      graphed(batch, 9, exec::cuda<TestType>(fixed_loss_scale()));
  train::graph_trainer<net_t<TestType>> a(eager, false), b(graphed, true);
  configure(a, 1.0);
  configure(b, 1.0);
  a.set_images(f.set.pixels, f.norm);
  b.set_images(f.set.pixels, f.norm);
  for (int s = 0; s < steps; ++s) {
    const data::batch_plan& p = f.plans[static_cast<std::size_t>(s)];
    a.queue(p.recipes, p.targets, p.labels, s, 0.05 / (1 + s));
    b.queue(p.recipes, p.targets, p.labels, s, 0.05 / (1 + s));
  }
  const ops::step_totals ta = a.take(), tb = b.take();
  INFO(b.status());
  CHECK(b.status().find("graph replays") != std::string::npos);
  CHECK(b.status().find("failed") == std::string::npos);
  CHECK(tb.steps == steps);
  // The two networks may time different cuDNN algorithms: a near tie in the logits may flip.
  CHECK(tb.correct + 2 >= ta.correct);
  CHECK(ta.correct + 2 >= tb.correct);
  CHECK(tb.loss_sum == Approx(ta.loss_sum).epsilon(1e-3));
  CNNZOO_CHECK_REL("parameters after graph replays", params_of<TestType>(graphed), params_of<TestType>(eager),
                   tolerance<TestType>::reduction);
}

TEST_CASE("graph_trainer: a non-finite loss leaves the parameters alone and is reported", "[cuda][gpu][graph]") {
  const int batch = 8;
  const fixture f(batch, 3);
  net_t<fp32> net(batch, 9);
  train::graph_trainer<net_t<fp32>> stepper(net);
  configure(stepper, 0.0);
  stepper.set_images(f.set.pixels, f.norm);
  stepper.queue(f.plans[0].recipes, f.plans[0].targets, f.plans[0].labels, 40, 0.05);
  stepper.take();
  const vec before = params_of<fp32>(net);
  std::vector<float> poisoned = f.plans[1].targets;
  poisoned[3] = NAN;
  stepper.queue(f.plans[1].recipes, poisoned, f.plans[1].labels, 41, 0.05);
  const ops::step_totals t = stepper.take();
  CHECK(t.bad_steps == 1);
  CHECK(t.first_bad_step == 41);
  CHECK(std::isnan(t.first_bad_loss));
  CHECK(t.images == 0);
  CHECK(params_of<fp32>(net) == before);
}
