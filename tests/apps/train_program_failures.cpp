// cnnzoo-train's exit codes and messages when it cannot go on: 3 for a non-finite loss (the last
// good checkpoint kept), 4 for bad data (naming the path), 5 for a checkpoint it cannot resume
// (saying which problem), 2 for flags a resumed run cannot change.
#include <sstream>

#include <catch2/catch.hpp>

#include <cnnzoo/train/checkpoint.hpp>

#include "support/temp_dir.hpp"
#include "trainer_support.hpp"

using namespace cnnzoo;
namespace fs = std::filesystem;

namespace {

const std::string program = CNNZOO_TRAIN_EXE;

std::string quoted(const fs::path& p) { return "'" + p.string() + "'"; }
std::string absolute_text(const fs::path& p) { return fs::absolute(p).lexically_normal().string(); }

// A checkpoint as cnnzoo-train writes one, for `model`, without training: the refusals happen
// before the network is built.
std::vector<std::uint8_t> fake_checkpoint(const std::string& model) {
  train::checkpoint_writer w(model);
  trainer::recipe r;
  r.model = model;
  w.add_string("recipe", r.to_json().dump());
  w.add("params", std::vector<float>(100, 0.5f));
  return w.to_bytes();
}

}  // namespace

TEST_CASE("cnnzoo-train refuses a checkpoint it cannot resume with exit code 5, saying why", "[apps][program]") {
  test::temp_dir tmp("cnnzoo-train-refusals");
  const zoo::entry* model = test::cheapest_zoo_model();
  REQUIRE(model != nullptr);
  const std::string other = model->info.name == "ResNet50" ? "ResNet18" : "ResNet50";
  const auto good = fake_checkpoint(other);
  auto resume = [&](const std::string& name, const std::vector<std::uint8_t>& bytes, const std::string& extra = {}) {
    fs::create_directories(tmp / name);
    test::write_bytes(tmp / name / "checkpoint.bin", bytes);
    return test::run_command("'" + program + "' --resume " + quoted(tmp / name) + " " + extra, tmp.path());
  };

  SECTION("another model") {
    const auto r = resume("other", good, "--model " + model->info.name);
    INFO(r.err);
    CHECK(r.exit_code == 5);
    CHECK(r.err.find("is for model " + other + ", not " + model->info.name) != std::string::npos);
  }
  SECTION("truncated") {
    const auto r = resume("truncated", std::vector<std::uint8_t>(good.begin(), good.begin() + 200));
    INFO(r.err);
    CHECK(r.exit_code == 5);
    CHECK(r.err.find("is truncated") != std::string::npos);
    CHECK(r.err.find((tmp / "truncated" / "checkpoint.bin").string()) != std::string::npos);
  }
  SECTION("corrupt") {
    auto bad = good;
    bad[bad.size() / 2] ^= 0x01;
    const auto r = resume("corrupt", bad);
    INFO(r.err);
    CHECK(r.exit_code == 5);
    CHECK(r.err.find("is corrupt: checksum mismatch") != std::string::npos);
  }
  SECTION("missing") {
    fs::create_directories(tmp / "none");
    const auto r = test::run_command("'" + program + "' --resume " + quoted(tmp / "none"), tmp.path());
    INFO(r.err);
    CHECK(r.exit_code == 5);
    CHECK(r.err.find("does not exist") != std::string::npos);
  }
  SECTION("a flag that would change the saved recipe") {
    const auto r = resume("flags", good, "--batch-size 64 --mixup-alpha 0.2 --init-from model.safetensors");
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("--batch-size") != std::string::npos);
    CHECK(r.err.find("--mixup-alpha") != std::string::npos);
    CHECK(r.err.find("--init-from") != std::string::npos);
  }
}

TEST_CASE("cnnzoo-train refuses bad data with exit code 4 and the path", "[apps][program]") {
  test::temp_dir tmp("cnnzoo-train-bad-data");
  const zoo::entry* model = test::cheapest_zoo_model();
  REQUIRE(model != nullptr);
  auto train_on = [&](const fs::path& data) {
    return test::run_command("'" + program + "' --model " + model->info.name + " --device cpu --data " + quoted(data) +
                                 " --out " + quoted(tmp / "run"),
                             tmp.path());
  };

  SECTION("missing directory") {
    const auto r = train_on(tmp / "nowhere");
    INFO(r.err);
    CHECK(r.exit_code == 4);
    CHECK(r.err.find(absolute_text(tmp / "nowhere")) != std::string::npos);
    CHECK(r.err.find("download") != std::string::npos);  // and how to get the data
  }
  SECTION("truncated file") {
    test::write_learnable_data(tmp / "data", 20, 0);
    const fs::path file = tmp / "data" / "data_batch_1.bin";
    fs::resize_file(file, fs::file_size(file) - 1);
    const auto r = train_on(tmp / "data");
    INFO(r.err);
    CHECK(r.exit_code == 4);
    CHECK(r.err.find(absolute_text(file)) != std::string::npos);
    CHECK(r.err.find("truncated") != std::string::npos);
  }
  SECTION("bad label") {
    data::dataset set = test::learnable_set(20, 3);
    set.labels[19] = 255;
    test::write_learnable_data(tmp / "data", 20, 0);
    data::write_batch_file(tmp / "data" / "data_batch_1.bin", set, 0, set.size());
    const auto r = train_on(tmp / "data");
    INFO(r.err);
    CHECK(r.exit_code == 4);
    CHECK(r.err.find(absolute_text(tmp / "data" / "data_batch_1.bin")) != std::string::npos);
    CHECK(r.err.find("label 255") != std::string::npos);
  }
}

TEST_CASE("cnnzoo-train stops on a non-finite loss with exit code 3 and keeps the last good checkpoint",
          "[apps][program]") {
  test::temp_dir tmp("cnnzoo-train-nan");
  const zoo::entry* model = test::learning_model();
  REQUIRE(model != nullptr);
  test::write_learnable_data(tmp / "data", 32, 10);
  const std::string base = "'" + program + "' --device cpu --threads 2 ";

  // Epoch 1 of 2 trains normally and stops, as if the job had been cut off.
  auto r = test::run_command(base + "--model " + model->info.name + " --data " + quoted(tmp / "data") + " --out " +
                                 quoted(tmp / "run") + " --epochs 2 --batch-size 16 --stop-after-epochs 1",
                             tmp.path());
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("stopped after epoch 1 of 2") != std::string::npos);
  const auto good = test::read_bytes(tmp / "run" / "checkpoint.bin");

  // Epoch 2 with an absurd learning rate blows up.
  r = test::run_command(base + "--resume " + quoted(tmp / "run") + " --lr 1e30", tmp.path());
  INFO(r.out << r.err);
  CHECK(r.exit_code == 3);
  CHECK((r.err.find("NaN") != std::string::npos || r.err.find("infinite") != std::string::npos ||
         r.err.find("non-finite") != std::string::npos));
  CHECK(r.err.find("last good checkpoint is " + (tmp / "run" / "checkpoint.bin").string() + " (epoch 1)") !=
        std::string::npos);
  CHECK(test::read_bytes(tmp / "run" / "checkpoint.bin") == good);
  const auto ck = train::checkpoint_reader::load(tmp / "run" / "checkpoint.bin");
  CHECK(ck.model() == model->info.name);
  CHECK(ck.get<std::int64_t>("progress.epoch_step")[0] == 1);
}
