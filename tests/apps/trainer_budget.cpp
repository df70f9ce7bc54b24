// A run with a wall-clock budget (--time-budget) and the recipe's kernel initializer, in-process on
// the tiny test network: the budget ends the run with a report, the schedule follows the clock,
// and the initializer is the recipe's and is saved with it.
#include <cmath>
#include <numbers>

#include <catch2/catch.hpp>

#include <cnnzoo/train/checkpoint.hpp>

#include "support/temp_dir.hpp"
#include "train/trainer.hpp"
#include "trainer_support.hpp"

using namespace cnnzoo;
namespace fs = std::filesystem;

TEST_CASE("a time budget ends the run with a report, its schedule following the clock", "[apps][trainer]") {
  test::temp_dir tmp("cnnzoo-budget");
  test::write_learnable_data(tmp / "data", 160, 40);
  trainer::recipe r = test::quick_recipe(test::tiny_model, tmp / "data", tmp / "out");
  r.epochs = 100000;              // only the budget can end this run
  r.time_budget_minutes = 0.04;   // 2.4 s
  r.checkpoint_every = 100000;
  std::ostringstream log;
  const trainer::outcome o = trainer::run(r, log, {});
  INFO(log.str());
  CHECK(o.finished);
  CHECK(o.epochs_done >= 2);
  CHECK(o.epochs_done < 100000);
  CHECK(o.train_seconds >= 2.4);
  CHECK(o.train_seconds < 10);
  CHECK(fs::exists(tmp / "out" / trainer::report_file));
  CHECK(fs::exists(tmp / "out" / trainer::checkpoint_file));
  // Cosine over the budget: the learning rate falls epoch by epoch, and each epoch's (that of its
  // last step) is the cosine's at a time no later than the epoch's recorded end, however loaded
  // the machine.
  const auto lines = test::read_jsonl(tmp / "out" / trainer::metrics_file);
  REQUIRE(lines.size() == static_cast<std::size_t>(o.epochs_done));
  const auto cosine_at = [&](double seconds) {
    return r.lr * 0.5 * (1 + std::cos(std::numbers::pi * std::min(1.0, seconds / 2.4)));
  };
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const double lr = lines[i]["lr"].get<double>();
    CHECK(lr >= cosine_at(lines[i]["wall_seconds"].get<double>()) - 1e-9);
    if (i > 0) CHECK(lr <= lines[i - 1]["lr"].get<double>());
  }
  CHECK(lines.back()["lr"].get<double>() < lines.front()["lr"].get<double>());
  CHECK(lines.back()["wall_seconds"].get<double>() >= 2.4);
  const auto saved = nlohmann::json::parse(train::checkpoint_reader::load(tmp / "out" / trainer::checkpoint_file).get_string("recipe"));
  CHECK(saved["time_budget_minutes"].get<double>() == 0.04);
}

TEST_CASE("the budget's schedule maps wall time onto the whole schedule, warm-up keeping its share", "[apps][trainer]") {
  trainer::recipe r;
  r.lr = 0.1;
  r.epochs = 10;
  r.warmup_epochs = 1;   // a tenth of the run
  r.time_budget_minutes = 10;
  const train::schedule s = trainer::schedule_for(r, 1234);
  // The warm-up ramps up to the cosine, which runs over the whole budget (as over a whole run).
  CHECK(s(trainer::budget_step(r, 0)) < 0.001);
  CHECK(s(trainer::budget_step(r, 30)) == Approx(0.5 * 0.1 * 0.5 * (1 + std::cos(0.05 * std::numbers::pi))).epsilon(1e-3));
  CHECK(s(trainer::budget_step(r, 60)) == Approx(0.1 * 0.5 * (1 + std::cos(0.1 * std::numbers::pi))).epsilon(1e-3));
  CHECK(s(trainer::budget_step(r, 300)) == Approx(0.05).epsilon(1e-3));   // half-way: half the peak
  CHECK(s(trainer::budget_step(r, 600)) < 1e-6);
  CHECK(s(trainer::budget_step(r, 6000)) < 1e-6);                         // past the budget: the end
}

TEST_CASE("bad budgets and initializers are refused before any data is read", "[apps][trainer]") {
  test::temp_dir tmp("cnnzoo-budget-bad");
  trainer::recipe r = test::quick_recipe(test::tiny_model, tmp / "no-data", tmp / "out");
  std::ostringstream log;
  for (double b : {-1.0, std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
    r.time_budget_minutes = b;
    try {
      trainer::run(r, log, {});
      FAIL("a budget of " << b << " was accepted");
    } catch (const trainer::train_error& e) {
      CHECK(e.code == 2);
      CHECK(std::string(e.what()).find("--time-budget") != std::string::npos);
    }
  }
  r.time_budget_minutes = 0;
  r.init = "lecun_normal";
  try {
    trainer::run(r, log, {});
    FAIL("an unknown initializer was accepted");
  } catch (const trainer::train_error& e) {
    CHECK(e.code == 2);
    CHECK(std::string(e.what()).find("--init") != std::string::npos);
  }
}

TEST_CASE("the kernel initializer is the recipe's: the zoo's table gives it, a run saves it", "[apps][trainer]") {
  const zoo::entry* squeeze = zoo::find("SqueezeNet");
  const zoo::entry* resnet = zoo::find("ResNet18");
  if (squeeze) CHECK(trainer::seed_recipe(squeeze->info).init == "glorot_uniform");
  if (resnet) CHECK(trainer::seed_recipe(resnet->info).init == "he_normal");
  CHECK(trainer::sota_recipe("SE-WideResNet_2").init == "he_normal");   // the seed: "Weight initial: he_normal"
  trainer::recipe r;
  r.init = "glorot_uniform";
  CHECK(trainer::recipe::from_json(r.to_json()).init == "glorot_uniform");
  // A checkpoint written before recipes named their initializer was drawn He-normal.
  auto old = r.to_json();
  old.erase("init");
  CHECK(trainer::recipe::from_json(old).init == "he_normal");
}
