// End to end, in-process: trainer::run trains a zoo model (test::learning_model) on a small
// generated data set in the official binary format, learns it well above chance (10%), and
// writes everything a user is promised: report.json, metrics.jsonl, curves.png, a checkpoint.
#include <chrono>
#include <sstream>

#include <catch2/catch.hpp>

#include "support/temp_dir.hpp"
#include "train/trainer.hpp"
#include "trainer_support.hpp"

using namespace cnnzoo;

TEST_CASE("trainer::run learns a generated CIFAR-10-format set well above chance", "[apps][trainer]") {
  const zoo::entry* model = test::learning_model();
  REQUIRE(model != nullptr);
  const test::learning_run plan;
  test::temp_dir tmp("cnnzoo-trainer-learns");
  test::write_learnable_data(tmp / "data", plan.n_train, plan.n_test);

  trainer::recipe r = test::quick_recipe(model->info.name, tmp / "data", tmp / "run");
  r.epochs = plan.epochs;
  r.batch_size = plan.batch;
  r.lr = plan.lr;
  std::ostringstream log;
  const auto start = std::chrono::steady_clock::now();
  const trainer::outcome o = trainer::run(r, log);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  INFO("model " << model->info.name << ", " << plan.n_train << " images x " << plan.epochs << " epochs in " << seconds
                << " s; log:\n" << log.str());

  CHECK(o.finished);
  CHECK(o.epochs_done == plan.epochs);
  CHECK(o.out_dir == tmp / "run");
  const auto report = test::check_run_outputs(tmp / "run", model->info.name, plan.epochs, plan.n_test,
                                              test::steps_per_epoch(plan.n_train, plan.batch));
  CHECK(o.final_accuracy == Approx(report.at("test_accuracy").get<double>()));
  CHECK(o.final_accuracy >= 0.4);  // chance is 0.1

  // Not a terminal: one plain line per epoch, no carriage returns or escape sequences.
  const std::string text = log.str();
  CHECK(text.find('\r') == std::string::npos);
  CHECK(text.find('\x1b') == std::string::npos);
  for (int e = 1; e <= plan.epochs; ++e)
    CHECK(text.find("epoch " + std::to_string(e) + "/" + std::to_string(plan.epochs) + "  step") != std::string::npos);
  CHECK(text.find("test accuracy") != std::string::npos);
  WARN("trainer_learns: " << model->info.name << " reached " << o.final_accuracy * 100 << "% in " << seconds << " s");
}
