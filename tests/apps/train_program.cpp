// cnnzoo-train as a user runs it: --help lists the flags the README and scripts rely on,
// --list-models lists the zoo, and a run on a generated data set in the official binary format
// exits 0, learns well above chance and leaves report.json, metrics.jsonl, curves.png and a
// checkpoint.
#include <chrono>
#include <sstream>

#include <catch2/catch.hpp>

#include "support/temp_dir.hpp"
#include "trainer_support.hpp"

using namespace cnnzoo;

namespace {
const std::string program = CNNZOO_TRAIN_EXE;
}

TEST_CASE("cnnzoo-train --help lists every documented flag", "[apps][program]") {
  test::temp_dir tmp("cnnzoo-train-help");
  for (const std::string args : {"--help", "--model ResNet18 --help"}) {
    const auto r = test::run_command("'" + program + "' " + args, tmp.path());
    INFO(args << "\n" << r.out << r.err);
    CHECK(r.exit_code == 0);
    for (const char* flag : {"--model", "--list-models", "--data", "--epochs", "--batch-size", "--lr", "--schedule",
                             "--warmup-epochs", "--weight-decay", "--momentum", "--label-smoothing", "--mixup-alpha",
                             "--flip", "--crop-padding", "--cutout", "--rotation", "--shift", "--shear", "--zoom",
                             "--precision", "--device", "--seed", "--out", "--resume", "--recipe", "--val-split",
                             "--stop-after-epochs", "--init", "--time-budget"})
      CHECK(r.out.find(flag) != std::string::npos);
    CHECK(r.out.find("Exit codes") != std::string::npos);
  }
}

TEST_CASE("cnnzoo-train --list-models lists the zoo in seed-table order", "[apps][program]") {
  test::temp_dir tmp("cnnzoo-train-list");
  const auto r = test::run_command("'" + program + "' --list-models", tmp.path());
  CHECK(r.exit_code == 0);
  std::string expected;
  for (const auto* e : zoo::models()) expected += e->info.name + "\n";
  CHECK(r.out == expected);
  CHECK_FALSE(expected.empty());
}

TEST_CASE("cnnzoo-train without a model or with an unknown one exits 2", "[apps][program]") {
  test::temp_dir tmp("cnnzoo-train-usage");
  auto r = test::run_command("'" + program + "'", tmp.path());
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--list-models") != std::string::npos);
  r = test::run_command("'" + program + "' --model NoSuchNet --device cpu --out '" + (tmp / "run").string() + "'", tmp.path());
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("unknown model 'NoSuchNet'") != std::string::npos);
}

TEST_CASE("cnnzoo-train trains a generated CIFAR-10-format set well above chance", "[apps][program]") {
  const zoo::entry* model = test::learning_model();
  REQUIRE(model != nullptr);
  const test::learning_run plan;
  test::temp_dir tmp("cnnzoo-train-e2e");
  test::write_learnable_data(tmp / "data", plan.n_train, plan.n_test);

  std::ostringstream cmd;
  cmd << "'" << program << "' --model " << model->info.name << " --data '" << (tmp / "data").string() << "' --out '"
      << (tmp / "run").string() << "' --device cpu --threads 2 --seed 7 --epochs " << plan.epochs << " --batch-size "
      << plan.batch << " --lr " << plan.lr << " --crop-padding 2";
  const auto start = std::chrono::steady_clock::now();
  const auto r = test::run_command(cmd.str(), tmp.path());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  INFO(cmd.str() << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err);
  REQUIRE(r.exit_code == 0);

  const auto report = test::check_run_outputs(tmp / "run", model->info.name, plan.epochs, plan.n_test,
                                              test::steps_per_epoch(plan.n_train, plan.batch));
  const double acc = report.at("test_accuracy").get<double>();
  CHECK(acc >= 0.4);  // chance is 0.1
  CHECK(report.at("config").at("batch_size") == plan.batch);
  // stdout is a file here, not a terminal: plain lines, one per epoch.
  CHECK(r.out.find('\r') == std::string::npos);
  for (int e = 1; e <= plan.epochs; ++e)
    CHECK(r.out.find("epoch " + std::to_string(e) + "/" + std::to_string(plan.epochs) + "  step") != std::string::npos);
  WARN("train_program: " << model->info.name << " reached " << acc * 100 << "% in " << seconds << " s");
}
