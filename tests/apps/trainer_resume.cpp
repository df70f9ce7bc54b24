// Resume and determinism, in-process on the tiny test network: a run cut after epoch 1 and
// resumed equals the uninterrupted run bit for bit (CPU, same thread count); a non-finite loss
// stops the run with exit code 3 and leaves the last good checkpoint loadable.
#include <cstring>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

#include <cnnzoo/train/checkpoint.hpp>

#include "support/temp_dir.hpp"
#include "train/trainer.hpp"
#include "trainer_support.hpp"

using namespace cnnzoo;
namespace fs = std::filesystem;

namespace {

// Every source of randomness and state the trainer carries: shuffling, flips, crops, the affine
// transform, cutout, mixup, dropout, BatchNorm, momentum, label smoothing; and a partial last
// batch (90 = 5 x 16 + 10).
trainer::recipe busy_recipe(const fs::path& data, const fs::path& out) {
  trainer::recipe r = test::quick_recipe(test::tiny_model, data, out);
  r.epochs = 2;
  r.batch_size = 16;
  r.rotation = 10;
  r.shift = 0.1;
  r.zoom = 0.1;
  r.cutout = 8;
  r.mixup_alpha = 0.2;
  r.label_smoothing = 0.1;
  r.warmup_epochs = 0.5;
  r.clip_norm = 5;
  return r;
}

std::vector<double> column(const fs::path& metrics, const char* key) {
  std::vector<double> v;
  for (const auto& line : test::read_jsonl(metrics)) v.push_back(line.at(key).get<double>());
  return v;
}

}  // namespace

TEST_CASE("a resumed run equals the uninterrupted run bit for bit", "[apps][trainer][resume]") {
  test::temp_dir tmp("cnnzoo-trainer-resume");
  test::write_learnable_data(tmp / "data", 90, 30);
  std::ostringstream log;

  const trainer::outcome whole = trainer::run(busy_recipe(tmp / "data", tmp / "whole"), log);
  REQUIRE(whole.finished);

  trainer::session first_half;
  first_half.stop_after_epochs = 1;
  const trainer::outcome cut = trainer::run(busy_recipe(tmp / "data", tmp / "cut"), log, first_half);
  CHECK_FALSE(cut.finished);
  CHECK(cut.epochs_done == 1);
  CHECK_FALSE(fs::exists(tmp / "cut" / "report.json"));  // a stopped run is not a result
  CHECK(test::read_jsonl(tmp / "cut" / "metrics.jsonl").size() == 1);

  {  // As if the job died after logging epoch 2 but before saving it, mid-way through another line:
     // the resumed run re-does epoch 2 and must not keep the stale lines.
    std::ofstream metrics(tmp / "cut" / "metrics.jsonl", std::ios::app);
    metrics << R"({"epoch":2,"step":12,"lr":0.1,"train_loss":9.0,"train_acc":0.5,"images_per_second":1,"wall_seconds":1})"
            << "\n{\"epoch\":3,\"st";
  }

  trainer::session resume;
  resume.resume_dir = tmp / "cut";
  // The recipe passed on resume is ignored (the checkpoint's is used), except that its model, when
  // given, must match.
  trainer::recipe ignored;
  const trainer::outcome resumed = trainer::run(ignored, log, resume);
  INFO(log.str());
  CHECK(resumed.finished);
  CHECK(resumed.epochs_done == 2);
  CHECK(log.str().find("resuming") != std::string::npos);

  test::require_same_training_state(tmp / "whole" / "checkpoint.bin", tmp / "cut" / "checkpoint.bin");
  // The metrics file continues across the resume: both epochs, with the same losses and accuracies.
  for (const char* key : {"epoch", "step", "lr", "train_loss", "train_acc", "val_loss", "val_acc"}) {
    INFO(key);
    CHECK(column(tmp / "whole" / "metrics.jsonl", key) == column(tmp / "cut" / "metrics.jsonl", key));
  }
  const auto rw = test::read_json(tmp / "whole" / "report.json"), rc = test::read_json(tmp / "cut" / "report.json");
  CHECK(rw.at("test_accuracy") == rc.at("test_accuracy"));
  CHECK(rw.at("confusion_matrix") == rc.at("confusion_matrix"));
  CHECK(rc.at("epochs") == 2);
  // Wall time accumulates across the two invocations.
  CHECK(rc.at("train_seconds").get<double>() >= column(tmp / "cut" / "metrics.jsonl", "wall_seconds").back());
}

TEST_CASE("training is deterministic for a seed on the CPU", "[apps][trainer][resume]") {
  test::temp_dir tmp("cnnzoo-trainer-determinism");
  test::write_learnable_data(tmp / "data", 90, 30);
  std::ostringstream log;
  trainer::run(busy_recipe(tmp / "data", tmp / "a"), log);
  trainer::run(busy_recipe(tmp / "data", tmp / "b"), log);
  test::require_same_training_state(tmp / "a" / "checkpoint.bin", tmp / "b" / "checkpoint.bin");

  trainer::recipe other = busy_recipe(tmp / "data", tmp / "c");
  other.seed += 1;
  trainer::run(other, log);
  CHECK(train::checkpoint_reader::load(tmp / "a" / "checkpoint.bin").get<float>("params") !=
        train::checkpoint_reader::load(tmp / "c" / "checkpoint.bin").get<float>("params"));
}

TEST_CASE("a non-finite loss stops the run with code 3 and keeps the last good checkpoint", "[apps][trainer][nan]") {
  test::temp_dir tmp("cnnzoo-trainer-nan");
  test::write_learnable_data(tmp / "data", 90, 30);
  std::ostringstream log;

  SECTION("on resume with an absurd learning rate") {
    trainer::session first;
    first.stop_after_epochs = 1;
    trainer::run(busy_recipe(tmp / "data", tmp / "run"), log, first);
    const auto good = test::read_bytes(tmp / "run" / "checkpoint.bin");

    trainer::session again;
    again.resume_dir = tmp / "run";
    again.lr = 1e30;
    try {
      trainer::run({}, log, again);
      FAIL("a learning rate of 1e30 trained without a non-finite loss");
    } catch (const trainer::train_error& e) {
      INFO(e.what());
      CHECK(e.code == 3);
      const std::string what = e.what();
      CHECK((what.find("NaN") != std::string::npos || what.find("infinite") != std::string::npos ||
             what.find("non-finite") != std::string::npos));
      CHECK(what.find("epoch 2") != std::string::npos);
      CHECK(what.find((tmp / "run" / "checkpoint.bin").string()) != std::string::npos);
      CHECK(what.find("lower --lr") != std::string::npos);
    }
    // The checkpoint is the one epoch 1 wrote, byte for byte, and it resumes into a finished run.
    CHECK(test::read_bytes(tmp / "run" / "checkpoint.bin") == good);
    CHECK(train::checkpoint_reader::load(tmp / "run" / "checkpoint.bin").get<std::int64_t>("progress.epoch_step")[0] == 1);
    trainer::session finish;
    finish.resume_dir = tmp / "run";
    CHECK(trainer::run({}, log, finish).finished);
  }

  SECTION("from the first epoch, before any checkpoint exists") {
    trainer::recipe r = busy_recipe(tmp / "data", tmp / "fresh");
    r.lr = 1e30;
    r.warmup_epochs = 0;
    try {
      trainer::run(r, log);
      FAIL("a learning rate of 1e30 trained without a non-finite loss");
    } catch (const trainer::train_error& e) {
      INFO(e.what());
      CHECK(e.code == 3);
      CHECK(std::string(e.what()).find("does not exist yet") != std::string::npos);
    }
    CHECK_FALSE(fs::exists(tmp / "fresh" / "checkpoint.bin"));
    CHECK_FALSE(fs::exists(tmp / "fresh" / "report.json"));
  }
}
