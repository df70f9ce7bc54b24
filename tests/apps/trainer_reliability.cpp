// What a careless or hostile user can do to trainer::run, in-process on the tiny test network, and
// what the run does instead of crashing or losing work: every recipe value checked against its
// range before anything loads; a crafted checkpoint refused as an input; the output directory
// locked and never silently taken over; no write through a symlink; a stop request (a signal)
// honoured between steps with a checkpoint that resumes bit for bit, mid-epoch included; memory,
// partial data and other data refused up front. docs/RELIABILITY.md lists each fault.
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <functional>
#include <limits>
#include <map>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>

#include <cnnzoo/train/checkpoint.hpp>

#include "support/temp_dir.hpp"
#include "train/exit_codes.hpp"
#include "train/memory.hpp"
#include "train/recipe_limits.hpp"
#include "train/run_directory.hpp"
#include "train/trainer.hpp"
#include "trainer_support.hpp"

using namespace cnnzoo;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

// The exit code and message of the train_error `run` throws (0 and "" when it throws none).
std::pair<int, std::string> refusal(const trainer::recipe& r, const trainer::session& s = {}) {
  std::ostringstream log;
  try {
    trainer::run(r, log, s);
  } catch (const trainer::train_error& e) {
    return {e.code, e.what()};
  }
  return {0, ""};
}

std::string checkpoint_refusal(const fs::path& dir, const trainer::session& base = {}) {
  std::ostringstream log;
  trainer::session s = base;
  s.resume_dir = dir;
  try {
    trainer::run({}, log, s);
  } catch (const train::checkpoint_error& e) {
    return e.what();
  }
  FAIL("resuming " << dir.string() << " was not refused");
  return {};
}

// Rewrites a checkpoint section by section (a valid CRC: what a crafted file looks like), letting
// `edit` replace a section's bytes and `extra` add sections.
void rewrite_checkpoint(const fs::path& path,
                        const std::function<void(const std::string&, std::vector<std::uint8_t>&)>& edit,
                        const std::function<void(train::checkpoint_writer&)>& extra = {}) {
  const auto ck = train::checkpoint_reader::load(path);
  train::checkpoint_writer w(ck.model());
  for (const auto& s : ck.sections()) {
    auto add = [&]<class T>(T) {
      auto v = ck.get<T>(s.name);
      std::vector<std::uint8_t> bytes(v.size() * sizeof(T));
      std::memcpy(bytes.data(), v.data(), bytes.size());
      edit(s.name, bytes);
      std::vector<T> back(bytes.size() / sizeof(T));
      std::memcpy(back.data(), bytes.data(), back.size() * sizeof(T));
      w.add(s.name, back);
    };
    switch (s.type) {
      case train::dtype::f32: add(float{}); break;
      case train::dtype::f64: add(double{}); break;
      case train::dtype::u64: add(std::uint64_t{}); break;
      case train::dtype::i64: add(std::int64_t{}); break;
      case train::dtype::u8: add(std::uint8_t{}); break;
    }
  }
  if (extra) extra(w);
  w.save_atomic(path);
}

// The recipe fields by flag, to set each to a hostile value.
const std::map<std::string, std::function<void(trainer::recipe&, double)>>& setters() {
  static const std::map<std::string, std::function<void(trainer::recipe&, double)>> m{
      {"--epochs", [](auto& r, double v) { r.epochs = static_cast<int>(std::clamp(v, -1e9, 1e9)); }},
      {"--time-budget", [](auto& r, double v) { r.time_budget_minutes = v; }},
      {"--batch-size", [](auto& r, double v) { r.batch_size = static_cast<int>(std::clamp(v, -1e9, 1e9)); }},
      {"--lr", [](auto& r, double v) { r.lr = v; }},
      {"--warmup-epochs", [](auto& r, double v) { r.warmup_epochs = v; }},
      {"--weight-decay", [](auto& r, double v) { r.weight_decay = v; }},
      {"--momentum", [](auto& r, double v) { r.momentum = v; }},
      {"--clip-norm", [](auto& r, double v) { r.clip_norm = v; }},
      {"--label-smoothing", [](auto& r, double v) { r.label_smoothing = v; }},
      {"--mixup-alpha", [](auto& r, double v) { r.mixup_alpha = v; }},
      {"--dropout", [](auto& r, double v) { r.dropout = v; }},
      {"--crop-padding", [](auto& r, double v) { r.crop_padding = static_cast<int>(std::clamp(v, -1e9, 1e9)); }},
      {"--cutout", [](auto& r, double v) { r.cutout = static_cast<int>(std::clamp(v, -1e9, 1e9)); }},
      {"--rotation", [](auto& r, double v) { r.rotation = v; }},
      {"--shift", [](auto& r, double v) { r.shift = v; }},
      {"--shear", [](auto& r, double v) { r.shear = v; }},
      {"--zoom", [](auto& r, double v) { r.zoom = v; }},
      {"--val-split", [](auto& r, double v) { r.val_split = static_cast<int>(std::clamp(v, -1e9, 1e9)); }},
      {"--limit-train", [](auto& r, double v) { r.limit_train = static_cast<int>(std::clamp(v, -1e9, 1e9)); }},
      {"--threads", [](auto& r, double v) { r.threads = static_cast<int>(std::clamp(v, -1e9, 1e9)); }},
      {"--checkpoint-every", [](auto& r, double v) { r.checkpoint_every = static_cast<int>(std::clamp(v, -1e9, 1e9)); }},
  };
  return m;
}

bool is_integer_field(const trainer::field_range& f) { return f.integer; }

}  // namespace

TEST_CASE("every recipe value outside its range is refused before any data is read", "[apps][trainer][reliability]") {
  test::temp_dir tmp("reliability");
  const double inf = std::numeric_limits<double>::infinity(), nan = std::nan("");
  // No data directory exists: a refusal that named the data would mean the flags were checked late.
  REQUIRE(setters().size() == trainer::field_ranges().size());
  for (const auto& f : trainer::field_ranges()) {
    std::vector<double> hostile{f.max * 10 + 1, f.min - 1};
    if (!is_integer_field(f)) hostile.insert(hostile.end(), {nan, inf, -inf, 1e308});
    for (double v : hostile) {
      trainer::recipe r = test::quick_recipe(test::tiny_model, tmp / "no-data", tmp / "run");
      setters().at(f.flag)(r, v);
      const auto [code, what] = refusal(r);
      INFO(f.flag << " = " << v << ": " << what);
      CHECK(code == trainer::exit_bad_flags);
      CHECK_THAT(what, Contains(f.flag));
      CHECK_THAT(what, !Contains("no-data"));
    }
  }
  // Contradictions between fields.
  trainer::recipe r = test::quick_recipe(test::tiny_model, tmp / "no-data", tmp / "run");
  r.warmup_epochs = 3;
  CHECK_THAT(refusal(r).second, Contains("--warmup-epochs 3 is longer than the run"));
  r = test::quick_recipe(test::tiny_model, tmp / "no-data", tmp / "run");
  r.threads = static_cast<int>(std::thread::hardware_concurrency()) + 1;
  CHECK(refusal(r).first == trainer::exit_bad_flags);
  CHECK_THAT(refusal(r).second, Contains("hardware threads"));
  CHECK_FALSE(fs::exists(tmp / "run"));
}

TEST_CASE("a crafted checkpoint is refused as an input, whatever its checksum says", "[apps][trainer][reliability]") {
  test::temp_dir tmp("reliability");
  test::write_learnable_data(tmp / "data", 40, 0);
  trainer::recipe r = test::quick_recipe(test::tiny_model, tmp / "data", tmp / "run");
  trainer::session once;
  once.stop_after_epochs = 1;
  std::ostringstream log;
  trainer::run(r, log, once);
  const fs::path ck = tmp / "run" / "checkpoint.bin";
  const auto original = test::read_bytes(ck);
  auto restore = [&] { test::write_bytes(ck, original); };
  auto set_recipe = [&](const char* key, nlohmann::json value) {
    rewrite_checkpoint(ck, [&](const std::string& name, std::vector<std::uint8_t>& b) {
      if (name != "recipe") return;
      auto j = nlohmann::json::parse(std::string(b.begin(), b.end()));
      j[key] = value;
      const std::string text = j.dump();
      b.assign(text.begin(), text.end());
    });
  };

  SECTION("an augmentation range no flag accepts") {
    set_recipe("rotation", 1e308);
    CHECK_THAT(checkpoint_refusal(tmp / "run"), Contains("--rotation") && Contains("outside [0, 180]"));
  }
  SECTION("a whole-number field holding 1e300 (fuzzing found the conversion undefined)") {
    set_recipe("epochs", 1e300);
    CHECK_THAT(checkpoint_refusal(tmp / "run"), Contains("recipe cannot be read") && Contains("'epochs'"));
  }
  SECTION("a value saved as null (NaN in JSON)") {
    set_recipe("mixup_alpha", nullptr);
    CHECK_THAT(checkpoint_refusal(tmp / "run"), Contains("recipe cannot be read"));
  }
  SECTION("an epoch counter of 2^32 + 1") {
    rewrite_checkpoint(ck, [](const std::string& name, std::vector<std::uint8_t>& b) {
      if (name != "progress.epoch_step") return;
      const std::int64_t e = (std::int64_t{1} << 32) + 1;
      std::memcpy(b.data(), &e, 8);
    });
    CHECK_THAT(checkpoint_refusal(tmp / "run"), Contains("epoch counter 4294967297"));
  }
  SECTION("NaN weights") {
    rewrite_checkpoint(ck, [](const std::string& name, std::vector<std::uint8_t>& b) {
      if (name != "params") return;
      const float n = std::nanf("");
      std::memcpy(b.data() + 4 * 3, &n, 4);
    });
    CHECK_THAT(checkpoint_refusal(tmp / "run"), Contains("1 of its") && Contains("NaN or infinite"));
  }
  SECTION("a position inside an epoch that is impossible") {
    const std::size_t n = 40;
    std::vector<std::uint64_t> order(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = i;
    auto with_position = [&](std::vector<std::int64_t> counts, std::vector<std::uint64_t> ord) {
      restore();
      rewrite_checkpoint(ck, [](const std::string&, std::vector<std::uint8_t>&) {},
                         [&](train::checkpoint_writer& w) {
                           w.add("progress.in_epoch", counts);
                           w.add("progress.in_epoch_sums", std::vector<double>{1.0, 0.5});
                           w.add("progress.in_epoch_order", ord);
                         });
    };
    auto dup = order;
    dup[5] = dup[6];
    with_position({1, 3, 16}, dup);
    CHECK_THAT(checkpoint_refusal(tmp / "run"), Contains("not a permutation"));
    with_position({99, 3, 16}, order);
    CHECK_THAT(checkpoint_refusal(tmp / "run"), Contains("position inside epoch 2 is impossible"));
    with_position({1, 17, 16}, order);  // more correct than seen
    CHECK_THAT(checkpoint_refusal(tmp / "run"), Contains("impossible"));
    with_position({1, 3, 16}, order);   // a possible one resumes
    trainer::session s;
    s.resume_dir = tmp / "run";
    CHECK(trainer::run({}, log, s).finished);
  }
  // Nothing was trained on from a refused checkpoint: the file is still the crafted one.
  CHECK(fs::exists(ck));
}

TEST_CASE("the output directory belongs to one run", "[apps][trainer][reliability]") {
  test::temp_dir tmp("reliability");
  test::write_learnable_data(tmp / "data", 40, 10);
  const trainer::recipe r = test::quick_recipe(test::tiny_model, tmp / "data", tmp / "run");

  SECTION("a second trainer is refused while the first holds the directory") {
    const trainer::run_directory held(tmp / "run");
    const auto [code, what] = refusal(r);
    CHECK(code == trainer::exit_out_dir_taken);
    CHECK_THAT(what, Contains("in use by another cnnzoo-train") && Contains(std::to_string(::getpid())));
  }
  SECTION("a fresh run does not take over a finished one, and --overwrite replaces it only as it saves") {
    std::ostringstream log;
    trainer::run(r, log);
    const auto metrics = test::read_bytes(tmp / "run" / "metrics.jsonl");
    const auto checkpoint = test::read_bytes(tmp / "run" / "checkpoint.bin");
    const auto [code, what] = refusal(r);
    CHECK(code == trainer::exit_out_dir_taken);
    CHECK_THAT(what, Contains("holds a run") && Contains("--resume") && Contains("--overwrite"));
    CHECK(test::read_bytes(tmp / "run" / "metrics.jsonl") == metrics);

    // Replaced, but stopped before its first save: the earlier run is whole.
    std::atomic<int> stop{SIGINT};
    trainer::session s;
    s.overwrite = true;
    s.stop_signal = &stop;
    CHECK(trainer::run(r, log, s).stopped_by_signal == SIGINT);
    CHECK(test::read_bytes(tmp / "run" / "metrics.jsonl") == metrics);
    CHECK(test::read_bytes(tmp / "run" / "checkpoint.bin") == checkpoint);
    CHECK(fs::exists(tmp / "run" / "report.json"));

    // Replaced for good: one epoch saved, the old report gone (it described the other run).
    trainer::session one;
    one.overwrite = true;
    one.stop_after_epochs = 1;
    trainer::run(r, log, one);
    CHECK_FALSE(fs::exists(tmp / "run" / "report.json"));
    CHECK(test::read_jsonl(tmp / "run" / "metrics.jsonl").size() == 1);
  }
  SECTION("temporaries a killed writer left are removed by the next owner") {
    fs::create_directories(tmp / "run");
    test::write_bytes(tmp / "run" / ".checkpoint.bin.tmp-99999-0", {1, 2, 3});
    std::ostringstream log;
    trainer::session one;
    one.stop_after_epochs = 1;
    trainer::run(r, log, one);
    CHECK_FALSE(fs::exists(tmp / "run" / ".checkpoint.bin.tmp-99999-0"));
  }
}

TEST_CASE("no output is written through a symlink planted in the output directory", "[apps][trainer][reliability]") {
  test::temp_dir tmp("reliability");
  test::write_learnable_data(tmp / "data", 40, 10);
  fs::create_directories(tmp / "run");
  std::vector<fs::path> victims;
  for (const char* f : {trainer::checkpoint_file, trainer::metrics_file, trainer::report_file, trainer::plot_file,
                        trainer::model_file}) {
    const fs::path victim = tmp / (std::string("victim-") + f);
    test::write_bytes(victim, {'k', 'e', 'e', 'p'});
    fs::create_symlink(victim, tmp / "run" / f);
    victims.push_back(victim);
  }
  std::ostringstream log;
  trainer::session s;
  s.overwrite = true;  // the links make the directory look like it holds a run
  trainer::run(test::quick_recipe(test::tiny_model, tmp / "data", tmp / "run"), log, s);
  for (const auto& v : victims) {
    INFO(v.string());
    CHECK(test::read_bytes(v) == std::vector<std::uint8_t>{'k', 'e', 'e', 'p'});
  }
  for (const char* f : {trainer::checkpoint_file, trainer::metrics_file, trainer::report_file, trainer::plot_file,
                        trainer::model_file}) {
    INFO(f);
    CHECK(fs::is_regular_file(fs::symlink_status(tmp / "run" / f)));
  }
}

TEST_CASE("a stop request ends the run after its current step, and the resumed run is bit-identical",
          "[apps][trainer][reliability][resume]") {
  test::temp_dir tmp("reliability");
  test::write_learnable_data(tmp / "data", 300, 20);
  trainer::recipe r = test::quick_recipe(test::tiny_model, tmp / "data", tmp / "whole");
  r.epochs = 3;
  r.rotation = 10;
  r.mixup_alpha = 0.2;
  r.cutout = 8;
  std::ostringstream log;
  trainer::run(r, log);

  // Stops at whatever step the request finds the run in (between steps, after an epoch's last
  // step, at an epoch's start), each then resumed to the end.
  int in_epoch_stops = 0, stops = 0;
  for (int delay_ms : {0, 3, 11, 29, 57}) {
    const fs::path out = tmp / ("cut-" + std::to_string(delay_ms));
    r.out_dir = out.string();
    std::atomic<int> stop{0};
    trainer::session s;
    s.stop_signal = &stop;
    std::thread requester([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      stop = SIGTERM;
    });
    const trainer::outcome o = trainer::run(r, log, s);
    requester.join();
    INFO("delay " << delay_ms << " ms");
    if (o.stopped_by_signal == 0) continue;  // finished before the request came
    ++stops;
    CHECK(o.stopped_by_signal == SIGTERM);
    if (fs::exists(out / "checkpoint.bin") && train::checkpoint_reader::load(out / "checkpoint.bin").has("progress.in_epoch"))
      ++in_epoch_stops;
    trainer::session resume;
    resume.resume_dir = out;
    if (!fs::exists(out / "checkpoint.bin")) {  // stopped before the first step: start again
      trainer::session fresh;
      trainer::run(r, log, fresh);
    } else {
      const trainer::outcome done = trainer::run({}, log, resume);
      CHECK(done.finished);
    }
    test::require_same_training_state(tmp / "whole" / "checkpoint.bin", out / "checkpoint.bin");
    CHECK(test::read_jsonl(out / "metrics.jsonl").size() == 3);
  }
  INFO("stops " << stops << ", of which inside an epoch " << in_epoch_stops);
  CHECK(stops > 0);
}

TEST_CASE("data: a partial copy, other data on resume, a batch larger than the set", "[apps][trainer][reliability]") {
  test::temp_dir tmp("reliability");
  test::write_learnable_data(tmp / "data", 40, 10);
  std::ostringstream log;

  SECTION("a missing data_batch_5.bin stops the run unless a partial set is allowed") {
    fs::remove(tmp / "data" / "data_batch_5.bin");
    trainer::recipe r = test::quick_recipe(test::tiny_model, tmp / "data", tmp / "run");
    CHECK_THROWS_WITH(trainer::run(r, log), Contains("data_batch_5.bin") && Contains("--partial-data"));
    trainer::session s;
    s.missing_batches = data::missing_batches::allow;
    r.epochs = 1;
    trainer::run(r, log, s);
    CHECK_THAT(log.str(), Contains("training on 4 of 5 training files"));
  }
  SECTION("resuming on other data is refused unless allowed") {
    trainer::session once;
    once.stop_after_epochs = 1;
    trainer::run(test::quick_recipe(test::tiny_model, tmp / "data", tmp / "run"), log, once);
    fs::remove_all(tmp / "data");
    const data::dataset other = test::learnable_set(40, 99);
    fs::create_directories(tmp / "data");
    for (int b = 0; b < 5; ++b)
      data::write_batch_file(tmp / "data" / data::train_batch_name(b + 1), other, static_cast<std::size_t>(b) * 8, 8);
    data::write_batch_file(tmp / "data" / data::test_batch_name, other, 0, 10);
    trainer::session s;
    s.resume_dir = tmp / "run";
    CHECK_THROWS_AS(trainer::run({}, log, s), data::data_error);
    CHECK_THROWS_WITH(trainer::run({}, log, s), Contains("is not the data") && Contains("--allow-other-data"));
    s.allow_other_data = true;
    CHECK(trainer::run({}, log, s).finished);
  }
  SECTION("a batch larger than the training set is the whole set") {
    trainer::recipe r = test::quick_recipe(test::tiny_model, tmp / "data", tmp / "run");
    r.batch_size = 60000;
    r.epochs = 1;
    trainer::run(r, log);
    CHECK_THAT(log.str(), Contains("batch of 60000 is larger than the training set; using its 40 images"));
    const auto saved = nlohmann::json::parse(train::checkpoint_reader::load(tmp / "run" / "checkpoint.bin").get_string("recipe"));
    CHECK(saved["batch_size"] == 40);
  }
}

TEST_CASE("a run that cannot fit in memory is refused up front with a batch that fits", "[apps][trainer][reliability]") {
  test::temp_dir tmp("reliability");
  test::write_learnable_data(tmp / "data", 40, 10);
  trainer::recipe r = test::quick_recipe(test::tiny_model, tmp / "data", tmp / "run");
  r.batch_size = 32;
  const zoo::entry* e = zoo::find(test::tiny_model);
  const trainer::memory_need need = trainer::estimate_memory(e->info, data::examine(tmp / "data"), true);
  trainer::session s;
  s.available_memory = need.total(8) + need.per_image / 2;  // room for 8 images of a batch, not 9
  auto [code, what] = refusal(r, s);
  CHECK(code == trainer::exit_out_of_memory);
  CHECK_THAT(what, Contains("The largest batch that fits is 8 (--batch-size 8)"));
  s.available_memory = 1 << 20;
  std::tie(code, what) = refusal(r, s);
  CHECK(code == trainer::exit_out_of_memory);
  CHECK_THAT(what, Contains("Not even the data and the network fit"));
  CHECK(trainer::largest_batch_that_fits(need, need.total(100)) == 100);
  CHECK_FALSE(fs::exists(tmp / "run" / "checkpoint.bin"));
}

TEST_CASE("resuming a finished run leaves its report alone", "[apps][trainer][reliability]") {
  test::temp_dir tmp("reliability");
  test::write_learnable_data(tmp / "data", 40, 10);
  std::ostringstream log;
  trainer::run(test::quick_recipe(test::tiny_model, tmp / "data", tmp / "run"), log);
  const auto report = test::read_bytes(tmp / "run" / "report.json");
  const auto when = fs::last_write_time(tmp / "run" / "report.json");
  trainer::session s;
  s.resume_dir = tmp / "run";
  std::ostringstream again;
  CHECK(trainer::run({}, again, s).finished);
  CHECK_THAT(again.str(), Contains("nothing to do"));
  CHECK(test::read_bytes(tmp / "run" / "report.json") == report);
  CHECK(fs::last_write_time(tmp / "run" / "report.json") == when);
}

TEST_CASE("--init-from weights with a NaN are refused", "[apps][trainer][reliability]") {
  test::temp_dir tmp("reliability");
  test::write_learnable_data(tmp / "data", 40, 10);
  std::ostringstream log;
  trainer::run(test::quick_recipe(test::tiny_model, tmp / "data", tmp / "run"), log);
  auto bytes = test::read_bytes(tmp / "run" / trainer::model_file);
  const std::uint8_t nan_bits[4] = {0x00, 0x00, 0xc0, 0x7f};  // the last value of the last tensor
  std::copy(nan_bits, nan_bits + 4, bytes.end() - 4);
  test::write_bytes(tmp / "nan.safetensors", bytes);
  trainer::recipe r = test::quick_recipe(test::tiny_model, tmp / "data", tmp / "again");
  r.init_from = (tmp / "nan.safetensors").string();
  CHECK_THROWS_WITH(trainer::run(r, log), Contains("1 NaN or infinite values"));
}
