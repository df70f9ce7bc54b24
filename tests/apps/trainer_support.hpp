#pragma once
// Shared by the trainer tests: a small CIFAR-10-format data set whose classes are learnable in a
// few steps, recipes that keep runs short, and helpers to run cnnzoo-train and read what it wrote.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cnnzoo/core/rng.hpp>
#include <cnnzoo/data/cifar10.hpp>
#include <cnnzoo/train/checkpoint.hpp>

#include "support/learnable_data.hpp"
#include "train/recipe.hpp"
#include "zoo/registry.hpp"

namespace cnnzoo::test {

namespace fs = std::filesystem;

// The tiny network tests/apps/tiny_model.cpp registers in the in-process test programs (not in
// cnnzoo-train): it makes resume, NaN and refusal runs take a fraction of a second.
inline constexpr const char* tiny_model = "TestTinyNet";

// DIR/data_batch_1.bin .. data_batch_5.bin (n_train >= 5 images between them, in order),
// DIR/test_batch.bin (n_test), DIR/batches.meta.txt: a whole CIFAR-10 directory, only smaller.
inline void write_learnable_data(const fs::path& dir, std::size_t n_train, std::size_t n_test) {
  const data::dataset train = learnable_set(n_train, 1), test = learnable_set(n_test, 2);
  fs::create_directories(dir);
  const std::size_t files = data::cifar10_train_batches, per_file = n_train / files;
  REQUIRE(per_file > 0);
  for (std::size_t b = 0; b < files; ++b) {
    const std::size_t first = b * per_file, count = b + 1 == files ? n_train - first : per_file;
    data::write_batch_file(dir / data::train_batch_name(static_cast<int>(b) + 1), train, first, count);
  }
  if (n_test) data::write_batch_file(dir / data::test_batch_name, test, 0, test.size());
  data::write_meta_file(dir);
}

// A short CPU run: fixed threads (results are bit-exact only for a fixed count), no augmentation
// that the colour task does not need, a constant-free cosine schedule.
inline trainer::recipe quick_recipe(const std::string& model, const fs::path& data, const fs::path& out) {
  trainer::recipe r;
  r.model = model;
  r.data_dir = data.string();
  r.out_dir = out.string();
  r.device = "cpu";
  r.threads = 2;
  r.seed = 7;
  r.epochs = 2;
  r.batch_size = 16;
  r.lr = 0.05;
  r.schedule = "cosine";
  r.weight_decay = 5e-4;
  r.flip = true;
  r.crop_padding = 2;
  return r;
}

// The registered zoo model (the tiny test model aside) with the fewest forward FLOPs, for runs
// that are refused before any training.
inline const zoo::entry* cheapest_zoo_model() {
  const zoo::entry* best = nullptr;
  for (const zoo::entry* e : zoo::models()) {
    if (e->info.name == tiny_model) continue;
    if (!best || e->info.flops < best->info.flops) best = e;
  }
  return best;
}

// The zoo model the end-to-end runs train. Not simply the cheapest by FLOPs: measured on the Eigen
// policy with 2 threads, InceptionV1 (0.18 GFLOPs) trains no faster than ResNet18 (1.1 GFLOPs), and
// the cheap ones without BatchNorm after every convolution (SqueezeNet, AlexNet) or with it only
// in places (ShuffleNetV2) need far more steps at lr 0.05 than ResNet18, which reaches 60% test
// accuracy on the colour classes within 6 steps of 16 images.
inline const zoo::entry* learning_model() {
  if (const zoo::entry* e = zoo::find("ResNet18")) return e;
  return cheapest_zoo_model();
}

// A run that learns the colour classes well above chance (10%) in well under a minute on two
// cores: ResNet18 trains at 10-20 images/s there, so 2 x 80 images plus 2 x 20 evaluated.
struct learning_run {
  std::size_t n_train = 80, n_test = 20;
  int epochs = 2, batch = 16;
  double lr = 0.05;
};
inline std::int64_t steps_per_epoch(std::size_t n, int batch) {
  return static_cast<std::int64_t>((n + static_cast<std::size_t>(batch) - 1) / static_cast<std::size_t>(batch));
}

inline std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
inline std::vector<std::uint8_t> read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
inline void write_bytes(const fs::path& p, const std::vector<std::uint8_t>& b) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}
inline nlohmann::json read_json(const fs::path& p) { return nlohmann::json::parse(read_text(p)); }
inline std::vector<nlohmann::json> read_jsonl(const fs::path& p) {
  std::vector<nlohmann::json> out;
  std::istringstream in(read_text(p));
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

// Sections whose bytes must agree between two runs that trained the same way. The recipe holds the
// output directory and the progress section the wall time, so those two are compared apart.
inline void require_same_training_state(const fs::path& a, const fs::path& b) {
  const auto ca = train::checkpoint_reader::load(a), cb = train::checkpoint_reader::load(b);
  CHECK(ca.model() == cb.model());
  for (const char* f32 : {"params", "state", "momentum"}) {
    INFO("section " << f32);
    const auto va = ca.get<float>(f32), vb = cb.get<float>(f32);
    REQUIRE(va.size() == vb.size());
    CHECK(std::memcmp(va.data(), vb.data(), va.size() * sizeof(float)) == 0);
  }
  CHECK(ca.get<std::uint64_t>("rng.data") == cb.get<std::uint64_t>("rng.data"));
  CHECK(ca.get<std::uint64_t>("rng.network") == cb.get<std::uint64_t>("rng.network"));
  CHECK(ca.get<std::int64_t>("progress.epoch_step") == cb.get<std::int64_t>("progress.epoch_step"));
  CHECK(ca.get_string("tensors") == cb.get_string("tensors"));
  auto ra = nlohmann::json::parse(ca.get_string("recipe")), rb = nlohmann::json::parse(cb.get_string("recipe"));
  ra.erase("out_dir");
  rb.erase("out_dir");
  CHECK(ra == rb);
}

// Runs `command` through the shell with stdout and stderr captured in files under `dir`.
struct command_result {
  int exit_code = -1;
  std::string out, err;
};
inline command_result run_command(const std::string& command, const fs::path& dir) {
  const fs::path out = dir / "stdout.txt", err = dir / "stderr.txt";
  const std::string full = command + " >'" + out.string() + "' 2>'" + err.string() + "' </dev/null";
  const int status = std::system(full.c_str());
  command_result r;
  r.exit_code = status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_text(out);
  r.err = read_text(err);
  return r;
}

// What every finished run leaves in its output directory, checked field by field: report.json,
// metrics.jsonl (one line per epoch), curves.png and a checkpoint. Returns the report.
inline nlohmann::json check_run_outputs(const fs::path& out, const std::string& model, int epochs, std::size_t n_test,
                                        std::int64_t steps_per_epoch) {
  INFO("output directory " << out.string());
  REQUIRE(fs::is_regular_file(out / "report.json"));
  const nlohmann::json report = read_json(out / "report.json");
  INFO("report.json: " << report.dump(2));
  CHECK(report.at("model") == model);
  CHECK(report.at("epochs") == epochs);
  CHECK(report.at("evaluated_on") == "test");
  CHECK(report.at("evaluated_images") == n_test);
  const double acc = report.at("test_accuracy").get<double>();
  CHECK(acc >= 0.0);
  CHECK(acc <= 1.0);  // a fraction, not a percentage
  CHECK(report.at("train_seconds").get<double>() > 0);
  CHECK(report.at("images_per_second").get<double>() > 0);
  const auto& per_class = report.at("per_class_accuracy");
  REQUIRE(per_class.size() == 10);
  for (const auto& name : data::cifar10_default_class_names()) CHECK(per_class.contains(name));
  const auto& cm = report.at("confusion_matrix");
  REQUIRE(cm.size() == 10);
  std::uint64_t total = 0, diagonal = 0;
  for (std::size_t t = 0; t < 10; ++t) {
    REQUIRE(cm[t].size() == 10);
    std::uint64_t row = 0;
    for (std::size_t p = 0; p < 10; ++p) row += cm[t][p].get<std::uint64_t>();
    total += row;
    diagonal += cm[t][t].get<std::uint64_t>();
    // The per-class accuracy is the row's recall.
    const auto& pc = per_class.at(data::cifar10_default_class_names()[t]);
    if (row) CHECK(pc.get<double>() == Approx(static_cast<double>(cm[t][t].get<std::uint64_t>()) / static_cast<double>(row)));
  }
  CHECK(total == n_test);
  CHECK(acc == Approx(static_cast<double>(diagonal) / static_cast<double>(total)));

  const auto lines = read_jsonl(out / "metrics.jsonl");
  REQUIRE(lines.size() == static_cast<std::size_t>(epochs));
  double last_wall = 0;
  for (int e = 0; e < epochs; ++e) {
    const auto& m = lines[static_cast<std::size_t>(e)];
    INFO("metrics line " << e + 1 << ": " << m.dump());
    CHECK(m.at("epoch") == e + 1);
    CHECK(m.at("step") == steps_per_epoch * (e + 1));
    for (const char* key : {"lr", "train_loss", "train_acc", "val_loss", "val_acc", "images_per_second", "wall_seconds"})
      CHECK(m.contains(key));
    CHECK(m.at("train_acc").get<double>() <= 1.0);
    CHECK(m.at("wall_seconds").get<double>() > last_wall);
    last_wall = m.at("wall_seconds").get<double>();
  }

  const auto png = read_bytes(out / "curves.png");
  REQUIRE(png.size() > 100);
  CHECK(std::vector<std::uint8_t>(png.begin(), png.begin() + 8) ==
        std::vector<std::uint8_t>{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
  CHECK(train::checkpoint_reader::load(out / "checkpoint.bin").model() == model);
  CHECK_FALSE(fs::exists(out / "checkpoint.bin.tmp"));
  return report;
}

}  // namespace cnnzoo::test
