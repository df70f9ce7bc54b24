// What trainer::run refuses, and how it says so, in-process on the tiny test network: checkpoints
// of another model, truncated or corrupt ones (checkpoint_error, exit code 5 in cnnzoo-train); a
// missing data directory, a truncated file, a bad label (data_error naming the path, exit code 4).
#include <sstream>

#include <catch2/catch.hpp>

#include <cnnzoo/data/cifar10.hpp>
#include <cnnzoo/train/checkpoint.hpp>

#include "support/temp_dir.hpp"
#include "train/trainer.hpp"
#include "trainer_support.hpp"

using namespace cnnzoo;
namespace fs = std::filesystem;

namespace {

// The message of the checkpoint_error that resuming `dir` (as `model`, if given) throws.
std::string resume_refusal(const fs::path& dir, const std::string& model = {}) {
  std::ostringstream log;
  trainer::recipe r;
  r.model = model;
  trainer::session s;
  s.resume_dir = dir;
  try {
    trainer::run(r, log, s);
  } catch (const train::checkpoint_error& e) {
    return e.what();
  }
  FAIL("resuming " << dir.string() << " was not refused");
  return {};
}

std::string data_refusal(const fs::path& data, const fs::path& out) {
  std::ostringstream log;
  try {
    trainer::run(test::quick_recipe(test::tiny_model, data, out), log);
  } catch (const data::data_error& e) {
    return e.what();
  }
  FAIL("training on " << data.string() << " was not refused");
  return {};
}

std::string absolute_text(const fs::path& p) { return fs::absolute(p).lexically_normal().string(); }

}  // namespace

TEST_CASE("resuming a checkpoint that cannot continue the run is refused, saying why", "[apps][trainer][refusal]") {
  test::temp_dir tmp("cnnzoo-trainer-refusals");
  test::write_learnable_data(tmp / "data", 40, 10);
  std::ostringstream log;
  trainer::recipe r = test::quick_recipe(test::tiny_model, tmp / "data", tmp / "good");
  r.epochs = 1;
  trainer::run(r, log);
  const auto good = test::read_bytes(tmp / "good" / "checkpoint.bin");
  auto variant = [&](const std::string& name, const std::vector<std::uint8_t>& bytes) {
    fs::create_directories(tmp / name);
    test::write_bytes(tmp / name / "checkpoint.bin", bytes);
    return tmp / name;
  };

  SECTION("another model") {
    const zoo::entry* other = test::cheapest_zoo_model();
    REQUIRE(other != nullptr);
    const std::string what = resume_refusal(tmp / "good", other->info.name);
    INFO(what);
    CHECK(what.find("is for model " + std::string(test::tiny_model) + ", not " + other->info.name) != std::string::npos);
    // A name the zoo does not know is refused the same way, not ignored.
    CHECK(resume_refusal(tmp / "good", "NoSuchNet").find("not NoSuchNet") != std::string::npos);
  }
  SECTION("the same model name with parameters of another shape") {
    const auto ck = train::checkpoint_reader::load(tmp / "good" / "checkpoint.bin");
    train::checkpoint_writer w(ck.model());
    for (const auto& s : ck.sections()) {
      if (s.name == "params") {
        auto p = ck.get<float>("params");
        p.pop_back();
        w.add("params", p);
      } else if (s.type == train::dtype::f32) {
        w.add(s.name, ck.get<float>(s.name));
      } else if (s.type == train::dtype::f64) {
        w.add(s.name, ck.get<double>(s.name));
      } else if (s.type == train::dtype::u64) {
        w.add(s.name, ck.get<std::uint64_t>(s.name));
      } else if (s.type == train::dtype::i64) {
        w.add(s.name, ck.get<std::int64_t>(s.name));
      } else {
        w.add_string(s.name, ck.get_string(s.name));
      }
    }
    const fs::path dir = variant("shape", w.to_bytes());
    const std::string what = resume_refusal(dir);
    INFO(what);
    CHECK(what.find("'params'") != std::string::npos);
    CHECK(what.find("expected " + std::to_string(ck.get<float>("params").size())) != std::string::npos);
  }
  SECTION("truncated") {
    const auto half = std::vector<std::uint8_t>(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(good.size() / 2));
    const std::string what = resume_refusal(variant("truncated", half));
    INFO(what);
    CHECK(what.find("is truncated") != std::string::npos);
    CHECK(what.find((tmp / "truncated" / "checkpoint.bin").string()) != std::string::npos);
  }
  SECTION("corrupt: one byte changed") {
    auto bad = good;
    bad[bad.size() / 2] ^= 0x40;
    const std::string what = resume_refusal(variant("corrupt", bad));
    INFO(what);
    CHECK(what.find("is corrupt: checksum mismatch") != std::string::npos);
  }
  SECTION("not a checkpoint at all") {
    const std::string what = resume_refusal(variant("garbage", std::vector<std::uint8_t>(300, 'x')));
    INFO(what);
    CHECK(what.find("is not a cnnzoo checkpoint") != std::string::npos);
  }
  SECTION("no checkpoint") {
    fs::create_directories(tmp / "empty");
    const std::string what = resume_refusal(tmp / "empty");
    INFO(what);
    CHECK(what.find("does not exist") != std::string::npos);
  }
  // Whatever was refused, the good run is untouched.
  CHECK(test::read_bytes(tmp / "good" / "checkpoint.bin") == good);
}

TEST_CASE("bad data is refused with the path and what is wrong", "[apps][trainer][refusal]") {
  test::temp_dir tmp("cnnzoo-trainer-bad-data");

  SECTION("missing directory") {
    const std::string what = data_refusal(tmp / "nowhere", tmp / "run");
    INFO(what);
    CHECK(what.find(absolute_text(tmp / "nowhere")) != std::string::npos);
    CHECK(what.find("does not exist") != std::string::npos);
    CHECK(what.find("data_batch_1.bin") != std::string::npos);  // the expected layout
  }
  SECTION("directory without training batches") {
    fs::create_directories(tmp / "empty");
    const std::string what = data_refusal(tmp / "empty", tmp / "run");
    INFO(what);
    CHECK(what.find(absolute_text(tmp / "empty")) != std::string::npos);
    CHECK(what.find("missing data_batch_1.bin") != std::string::npos);
  }
  SECTION("truncated file") {
    test::write_learnable_data(tmp / "data", 20, 0);
    const fs::path file = tmp / "data" / "data_batch_1.bin";
    fs::resize_file(file, fs::file_size(file) - 100);
    const std::string what = data_refusal(tmp / "data", tmp / "run");
    INFO(what);
    CHECK(what.find(absolute_text(file)) != std::string::npos);
    CHECK(what.find("not a whole number of 3,073-byte records") != std::string::npos);
  }
  SECTION("bad label") {
    data::dataset set = test::learnable_set(20, 3);
    set.labels[7] = 12;
    test::write_learnable_data(tmp / "data", 20, 0);
    data::write_batch_file(tmp / "data" / "data_batch_1.bin", set, 0, set.size());
    const std::string what = data_refusal(tmp / "data", tmp / "run");
    INFO(what);
    CHECK(what.find(absolute_text(tmp / "data" / "data_batch_1.bin")) != std::string::npos);
    CHECK(what.find("record 7") != std::string::npos);
    CHECK(what.find("label 12") != std::string::npos);
  }
  SECTION("bad test file") {
    test::write_learnable_data(tmp / "data", 20, 10);
    fs::resize_file(tmp / "data" / "test_batch.bin", 5);
    const std::string what = data_refusal(tmp / "data", tmp / "run");
    INFO(what);
    CHECK(what.find(absolute_text(tmp / "data" / "test_batch.bin")) != std::string::npos);
  }
  // Nothing was written for a run that never started.
  CHECK_FALSE(fs::exists(tmp / "run" / "checkpoint.bin"));
}
