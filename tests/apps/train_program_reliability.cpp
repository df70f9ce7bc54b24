// cnnzoo-train as a process, treated carelessly and with hostile intent: every bad flag exits 2 before
// anything loads, naming the flag, the value and its range; SIGTERM stops a run cleanly with a
// checkpoint and exit code 9, and the resumed run equals the uninterrupted one; SIGKILL at random
// moments, many times over, each followed by --resume, ends bit-identical to an uninterrupted run.
// The kill tests run cnnzoo-test-train, which is cnnzoo-train with the tiny test network.
#include <chrono>
#include <csignal>
#include <random>
#include <set>
#include <thread>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cnnzoo/train/checkpoint.hpp>

#include "process.hpp"
#include "support/temp_dir.hpp"
#include "trainer_support.hpp"

using namespace cnnzoo;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

const std::string program = CNNZOO_TRAIN_EXE;
const std::string test_program = CNNZOO_TEST_TRAIN_EXE;

std::string quoted(const fs::path& p) { return "'" + p.string() + "'"; }

using test::process;

std::vector<std::string> tiny_run(const fs::path& data, const fs::path& out, int epochs) {
  return {test_program, "--model", test::tiny_model, "--data", data.string(), "--out", out.string(), "--device", "cpu",
          "--threads", "1", "--epochs", std::to_string(epochs), "--batch-size", "16", "--lr", "0.05", "--seed", "3",
          "--rotation", "10", "--mixup-alpha", "0.2", "--cutout", "8"};
}

}  // namespace

TEST_CASE("every bad flag exits 2 before anything loads, naming the flag, the value and the range", "[apps][program][reliability]") {
  test::temp_dir tmp("cnnzoo-train-flags");
  // No data: a refusal that mentioned the data directory would mean the flags were checked late.
  const std::string base = "'" + program + "' --model ResNet18 --device cpu --data " + quoted(tmp / "no-data") +
                           " --out " + quoted(tmp / "run") + " ";
  const std::vector<std::pair<std::string, std::string>> cases{
      {"--rotation nan", "outside [0, 180]"},      {"--shear inf", "outside [0, 80]"},
      {"--zoom 1e308", "outside [0, 0.9]"},        {"--shift -1", "outside [0, 1]"},
      {"--threads 100000", "--threads"},           {"--seed -1", "not a whole number"},
      {"--limit-train 0", "outside [1, "},         {"--limit-train -5", "outside [1, "},
      {"--checkpoint-every 0", "outside [1, "},    {"--epochs abc", "not a number"},
      {"--momentum nan", "outside [0, 1)"},        {"--weight-decay nan", "outside [0, 1]"},
      {"--mixup-alpha inf", "outside [0, 100]"},   {"--warmup-epochs 1e300", "--warmup-epochs"},
      {"--clip-norm nan", "outside [0, 1000000]"}, {"--batch-size 1000000000", "outside [1, 65536]"},
      {"--lr 0", "outside (0, 1e+30]"},              {"--epochs 2.5", "a whole number"},
      {"--no-such-flag", "no-such-flag"},          {"--schedule sometimes", "sometimes"},
      {"--warmup-epochs 50 --epochs 10", "longer than the run"},
      {"--allow-other-data", "only applies to --resume"},
  };
  for (const auto& [flags, expected] : cases) {
    const auto r = test::run_command(base + flags, tmp.path());
    INFO(flags << "\n" << r.err);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Contains(expected));
    CHECK_THAT(r.err, !Contains("no-data"));
  }
  CHECK_FALSE(fs::exists(tmp / "run"));
  // The ranges are in --help.
  const auto help = test::run_command("'" + program + "' --help", tmp.path());
  CHECK_THAT(help.out, Contains("[0, 180]") && Contains("[1, 65536]") && Contains("Exit codes") && Contains("9 stopped by"));
}

TEST_CASE("an output directory that cannot be created exits 6, not 5", "[apps][program][reliability]") {
  test::temp_dir tmp("cnnzoo-train-unwritable");
  test::write_learnable_data(tmp / "data", 40, 10);
  test::write_bytes(tmp / "file", {'x'});
  const auto r = test::run_command("'" + test_program + "' --model " + test::tiny_model + " --device cpu --threads 1 " +
                                   "--epochs 1 --data " + quoted(tmp / "data") + " --out " + quoted(tmp / "file" / "run"),
                                   tmp.path());
  INFO(r.err);
  CHECK(r.exit_code == 6);
  CHECK_THAT(r.err, Contains("cannot create the output directory"));
}

TEST_CASE("--resume DIR --out DIR/ names one directory, not two", "[apps][program][reliability]") {
  test::temp_dir tmp("cnnzoo-train-same");
  test::write_learnable_data(tmp / "data", 40, 10);
  auto r = test::run_command("'" + test_program + "' --model " + test::tiny_model + " --device cpu --threads 1 --epochs 2 " +
                             "--stop-after-epochs 1 --data " + quoted(tmp / "data") + " --out " + quoted(tmp / "run"), tmp.path());
  REQUIRE(r.exit_code == 0);
  r = test::run_command("'" + test_program + "' --resume " + quoted(tmp / "run") + " --out " + quoted(tmp / "run/") +
                            " --data " + quoted(tmp / "data"), tmp.path());
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(fs::exists(tmp / "run" / "report.json"));
}

TEST_CASE("SIGTERM, SIGINT and SIGHUP stop a run with a checkpoint that resumes exactly; a second signal stops at once",
          "[apps][program][reliability]") {
  test::temp_dir tmp("cnnzoo-train-signal");
  test::write_learnable_data(tmp / "data", 2000, 20);
  const int epochs = 3;
  {
    process whole(tiny_run(tmp / "data", tmp / "whole", epochs), tmp.path());
    REQUIRE(whole.wait() == 0);
  }
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) {
    const fs::path out = tmp / ("cut-" + std::to_string(sig));
    fs::create_directories(out);
    process p(tiny_run(tmp / "data", out, epochs), out);
    // Once the first checkpoint exists the run is well into training.
    for (int i = 0; i < 3000 && !fs::exists(out / "checkpoint.bin"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    p.signal(sig);
    const int code = p.wait();
    const std::string said = test::read_text(out / "stdout.txt") + test::read_text(out / "stderr.txt");
    INFO("signal " << sig << "\n" << said);
    if (code == 0) continue;  // the run ended before the signal arrived
    CHECK(code == 9);
    CHECK_THAT(said, Contains("stopped by signal") && Contains("--resume " + out.string()));
    process resumed({test_program, "--resume", out.string(), "--data", (tmp / "data").string()}, out);
    REQUIRE(resumed.wait() == 0);
    test::require_same_training_state(tmp / "whole" / "checkpoint.bin", out / "checkpoint.bin");
  }
  // Two signals: the process ends by the second one's default action, the last checkpoint intact.
  const fs::path out = tmp / "twice";
  fs::create_directories(out);
  process p(tiny_run(tmp / "data", out, 50), out);
  for (int i = 0; i < 3000 && !fs::exists(out / "checkpoint.bin"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  p.signal(SIGTERM);
  p.signal(SIGTERM);
  const int code = p.wait();
  CHECK((code == 128 + SIGTERM || code == 9));
  CHECK_NOTHROW(train::checkpoint_reader::load(out / "checkpoint.bin"));
}

TEST_CASE("SIGKILL at random moments, each followed by --resume, ends bit-identical to an uninterrupted run",
          "[apps][program][reliability][kill]") {
  test::temp_dir tmp("cnnzoo-train-kill");
  test::write_learnable_data(tmp / "data", 400, 20);
  const int epochs = 40;
  const auto start = std::chrono::steady_clock::now();
  {
    process whole(tiny_run(tmp / "data", tmp / "whole", epochs), tmp.path());
    REQUIRE(whole.wait() == 0);
  }
  const double whole_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  const double epoch_ms = whole_ms / epochs;
  const fs::path out = tmp / "killed", checkpoint = out / "checkpoint.bin";
  auto saved_epoch = [&]() -> std::int64_t {
    if (!fs::exists(checkpoint)) return -1;
    return train::checkpoint_reader::load(checkpoint).get<std::int64_t>("progress.epoch_step")[0];
  };
  fs::create_directories(out);
  // From a fixed seed, two processes of three die at a random moment of their life (start-up, a
  // step, an evaluation, a save: up to two epochs' time in); the third is killed at a random moment
  // of the epoch after it has saved a checkpoint of its own, so the run makes progress however
  // slow the machine is, and kills land on later saves too.
  std::mt19937 gen(2026);
  std::uniform_real_distribution<double> anytime(0.0, 2.0 * epoch_ms), within_epoch(0.0, epoch_ms);
  int kills = 0, attempts = 0;
  bool finished = false;
  std::set<std::int64_t> resumed_after;  // the epochs the processes resumed from
  while (!finished && attempts < 400) {
    ++attempts;
    const std::int64_t before = saved_epoch();
    if (before >= 0) resumed_after.insert(before);
    std::vector<std::string> args = before >= 0 ? std::vector<std::string>{test_program, "--resume", out.string(), "--data",
                                                                            (tmp / "data").string()}
                                                : tiny_run(tmp / "data", out, epochs);
    if (before < 0 && attempts > 1) args.push_back("--overwrite");
    process p(args, out);
    if (kills < 36) {
      if (attempts % 3 == 0) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (saved_epoch() == before && std::chrono::steady_clock::now() < deadline)
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
        std::this_thread::sleep_for(std::chrono::microseconds(static_cast<long>(within_epoch(gen) * 1000)));
      } else {
        std::this_thread::sleep_for(std::chrono::microseconds(static_cast<long>(anytime(gen) * 1000)));
      }
      p.signal(SIGKILL);
    }
    const int code = p.wait();
    if (code == 128 + SIGKILL) {
      ++kills;
      continue;
    }
    INFO(test::read_text(out / "stderr.txt"));
    REQUIRE(code == 0);
    finished = fs::exists(out / "report.json") && saved_epoch() == epochs;
  }
  INFO("kills " << kills << ", processes " << attempts << ", resumed from " << resumed_after.size()
                 << " different epochs, uninterrupted run " << whole_ms << " ms");
  REQUIRE(finished);
  CHECK(kills >= 30);
  CHECK(resumed_after.size() >= 5);  // the killed processes made progress, and their checkpoints were resumed
  test::require_same_training_state(tmp / "whole" / "checkpoint.bin", checkpoint);
  CHECK(test::read_jsonl(out / "metrics.jsonl").size() == static_cast<std::size_t>(epochs));
  WARN("SIGKILL cycles survived: " << kills << " kills over " << attempts << " processes, resumed from "
                                    << resumed_after.size() << " different epochs");
}
