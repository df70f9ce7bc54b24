// Confusion matrix arithmetic, metrics.jsonl lines (written, read back, refused), and the
// fields of report.json that scripts rely on.
#include <catch2/catch.hpp>

#include "train/metrics.hpp"

#include <cmath>
#include <type_traits>
#include <fstream>

#include "support/temp_dir.hpp"

using namespace cnnzoo::trainer;

static_assert(std::is_base_of_v<cnnzoo::error, metrics_error>);   // one base for every error (core/error.hpp)
using cnnzoo::test::temp_dir;
using Catch::Matchers::Contains;

TEST_CASE("confusion matrix: overall and per-class accuracy", "[train][metrics]") {
  confusion_matrix cm(3);
  CHECK(std::isnan(cm.accuracy()));
  std::vector<std::uint8_t> truth{0, 0, 0, 0, 1, 1, 2, 2};
  std::vector<int> pred{0, 0, 0, 1, 1, 2, 2, 2};
  cm.add(std::span<const std::uint8_t>(truth), std::span<const int>(pred));
  CHECK(cm.total() == 8);
  CHECK(cm.correct() == 6);
  CHECK(cm.accuracy() == Approx(0.75));
  CHECK(cm.count(0, 1) == 1);
  CHECK(cm.count(1, 2) == 1);
  const auto pc = cm.per_class_accuracy();
  CHECK(pc[0] == Approx(0.75));
  CHECK(pc[1] == Approx(0.5));
  CHECK(pc[2] == Approx(1.0));
  CHECK(cm.to_json() == nlohmann::json::parse("[[3,1,0],[0,1,1],[0,0,2]]"));

  confusion_matrix other(3);
  other.add(1, 1);
  cm.merge(other);
  CHECK(cm.per_class_accuracy()[1] == Approx(2.0 / 3));
  CHECK_THROWS_WITH(cm.add(3, 0), Contains("outside 0..2"));
  CHECK_THROWS_AS(cm.merge(confusion_matrix(10)), metrics_error);
  cm.reset();
  CHECK(cm.total() == 0);
}

TEST_CASE("metrics.jsonl: one object per epoch, rewritten whole, read back", "[train][metrics]") {
  temp_dir dir("metrics");
  const auto path = dir / "metrics.jsonl";
  std::vector<epoch_metrics> h{epoch_metrics{1, 390, 0.1, 2.0, 0.25, 1.9, 0.3, 1234.5, 10.0},
                               epoch_metrics{2, 780, 0.09, 1.5, 0.45, std::nullopt, std::nullopt, 1300, 20.0}};
  write_metrics_file(path, h);
  {
    std::ifstream in(path);
    std::string first;
    std::getline(in, first);
    const auto j = nlohmann::json::parse(first);
    for (const char* key : {"epoch", "step", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "images_per_second", "wall_seconds"})
      CHECK(j.contains(key));
    CHECK(j["val_acc"] == 0.3);
  }
  h.push_back(epoch_metrics{3, 1170, 0.08, 1.2, 0.55, 1.1, 0.6, 1250, 30.0});
  write_metrics_file(path, h);
  std::ofstream(path, std::ios::app) << R"({"epoch": 4, "step": 15)";  // a line cut short (an older version, killed)

  const auto all = read_metrics(path);
  REQUIRE(all.size() == 3);
  CHECK(all[0].val_loss == 1.9);
  CHECK_FALSE(all[1].val_acc.has_value());
  CHECK(all[2].step == 1170);
  CHECK(read_metrics(path, 2).size() == 2);
  CHECK(parse_metrics(metrics_jsonl(h), "(text)").size() == 3);
  // A field of the wrong kind or beyond its type (found by fuzzing: 5e9 as an int epoch).
  CHECK_THROWS_WITH(parse_metrics("{\"epoch\":5016331303.04}\n{}\n", "(text)"), Contains("'epoch'"));
  CHECK_THROWS_WITH(parse_metrics(R"({"epoch":1,"step":"x","lr":0,"train_loss":0,"train_acc":0,"images_per_second":0,"wall_seconds":0})" "\n\n", "(text)"), Contains("'step'"));
  // A bad line that is not the last is damage, not a cut-short write.
  CHECK_THROWS_WITH(parse_metrics("{\"epoch\": 1\n" + metrics_jsonl(h), "(text)"), Contains("line 1"));
}

TEST_CASE("metrics.jsonl that is not a regular file, or implausibly large, is refused", "[train][metrics]") {
  temp_dir dir("metrics");
  CHECK_THROWS_WITH(read_metrics(dir.path()), Contains("is a directory"));
  CHECK_THROWS_WITH(read_metrics(dir / "none.jsonl"), Contains("does not exist"));
  CHECK_THROWS_WITH(read_metrics("/dev/zero"), Contains("character device"));
}

TEST_CASE("report.json holds what scripts read", "[train][metrics]") {
  temp_dir dir("metrics");
  run_report r;
  r.model = "ResNet18";
  r.epochs = 150;
  r.train_seconds = 3600.5;
  r.step_seconds = 3500.25;
  r.images_per_second = 2100;
  r.final_loss = 0.2;
  r.class_names = {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
  r.config = {{"lr", 0.1}, {"schedule", "htd"}};
  for (int c = 0; c < 10; ++c) {
    r.confusion.add(c, c);
    r.confusion.add(c, c);
    r.confusion.add(c, (c + 1) % 10);
  }
  write_report_json(dir / "report.json", r);
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()), std::filesystem::directory_iterator{}) == 1);  // no temporary left
  std::ifstream in(dir / "report.json");
  const auto j = nlohmann::json::parse(in);
  CHECK(j["model"] == "ResNet18");
  CHECK(j["epochs"] == 150);
  CHECK(j["test_accuracy"].get<double>() == Approx(2.0 / 3));
  CHECK(j["train_seconds"] == 3600.5);
  CHECK(j["step_seconds"] == 3500.25);
  CHECK(j["images_per_second"] == 2100);
  CHECK(j["per_class_accuracy"]["cat"].get<double>() == Approx(2.0 / 3));
  CHECK(j["confusion_matrix"].size() == 10);
  CHECK(j["confusion_matrix"][3][4] == 1);
  CHECK(j["evaluated_images"] == 30);
  CHECK(j["evaluated_on"] == "test");
  CHECK(j["config"]["schedule"] == "htd");

  run_report empty;
  empty.model = "x";
  CHECK(to_json(empty)["test_accuracy"].is_null());  // nothing evaluated: null, not 0
}

TEST_CASE("an unwritable metrics path is reported", "[train][metrics]") {
  temp_dir dir("metrics");
  std::ofstream(dir / "file") << "x";
  CHECK_THROWS_AS(write_metrics_file(dir / "file" / "m.jsonl", {}), cnnzoo::write_error);
  CHECK_THROWS_WITH(write_metrics_file(dir / "file" / "m.jsonl", {}), Contains("cannot create metrics file"));
}
