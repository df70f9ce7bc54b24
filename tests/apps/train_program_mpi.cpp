// cnnzoo-train as a data-parallel job, started the way a user starts one (mpirun -np 2), on the tiny
// test network (BatchNorm, dropout, momentum: every kind of state a job must keep identical):
//   - two ranks train as one job: one log, one set of files, a report that says how the job ran;
//   - a job stopped and resumed with the same ranks ends bit-identical to an uninterrupted one;
//     stopped with 2 ranks and resumed with 1 (and back) it goes on (data order and augmentation
//     exact, the sums' rounding not);
//   - refusals: ranks that cannot share a step, a rank that reads other data (named);
//   - SIGUSR1 to mpirun (forwarded to every rank) stops the job at one step on all of them, with a
//     checkpoint that --resume continues bit-identically (with --sync-bn: every rank's state is the
//     job's);
//   - a rank killed mid-epoch ends the whole job within seconds with a message naming that rank,
//     and the last checkpoint survives to be resumed.
#include <chrono>
#include <csignal>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

#include "process.hpp"
#include "support/temp_dir.hpp"
#include "trainer_support.hpp"

using namespace cnnzoo;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

const std::string test_program = CNNZOO_TEST_TRAIN_EXE;
const std::string mpirun = CNNZOO_MPIRUN;   // the launcher with its flags, space-separated

std::vector<std::string> words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> w;
  for (std::string x; in >> x;) w.push_back(x);
  return w;
}

std::vector<std::string> tiny_job(const fs::path& data, const fs::path& out, int epochs, int batch = 32) {
  return {"--model", test::tiny_model, "--data", data.string(), "--out", out.string(), "--device", "cpu", "--threads", "1",
          "--epochs", std::to_string(epochs), "--batch-size", std::to_string(batch), "--lr", "0.05", "--seed", "3",
          "--cutout", "8"};
}

std::string shell_words(const std::vector<std::string>& args) {
  std::string s;
  for (const auto& a : args) s += " '" + a + "'";
  return s;
}

// `mpirun -np N cnnzoo-test-train ARGS` as a shell command.
std::string job(int ranks, const std::vector<std::string>& args) {
  return mpirun + " -np " + std::to_string(ranks) + " '" + test_program + "'" + shell_words(args);
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// The process id of rank `rank` among the children of the launcher `parent`.
std::optional<pid_t> rank_process(pid_t parent, int rank) {
  const std::string want = "OMPI_COMM_WORLD_RANK=" + std::to_string(rank);
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    const auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    char state = 0;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid != parent) continue;
    std::ifstream env(entry.path() / "environ", std::ios::binary);
    const std::string vars((std::istreambuf_iterator<char>(env)), std::istreambuf_iterator<char>());
    for (std::size_t at = 0; at < vars.size();) {
      const std::size_t end = vars.find('\0', at);
      if (vars.compare(at, (end == std::string::npos ? vars.size() : end) - at, want) == 0) return static_cast<pid_t>(std::stoi(name));
      if (end == std::string::npos) break;
      at = end + 1;
    }
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("mpirun -np 2: the ranks train as one job; stopped and resumed it ends bit-identical", "[apps][program][mpi]") {
  test::temp_dir tmp("cnnzoo-train-mpi");
  test::write_learnable_data(tmp / "data", 320, 64);
  const fs::path whole = tmp / "whole", cut = tmp / "cut";

  const auto r = test::run_command(job(2, tiny_job(tmp / "data", whole, 2)), tmp.path());
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(occurrences(r.out, "job of 2 ranks (mpi (Open MPI") == 1);   // rank 0 alone writes the log
  CHECK(occurrences(r.out, "test accuracy") == 1);
  const nlohmann::json report = test::read_json(whole / "report.json");
  CHECK(report["config"]["job"]["ranks"] == 2);
  CHECK(report["config"]["job"]["threads_per_rank"] == 1);
  CHECK(report["config"]["job"]["sync_bn"] == false);
  CHECK(report["config"]["job"]["allreduce_seconds_per_step"].get<double>() > 0);
  CHECK(test::read_jsonl(whole / "metrics.jsonl").size() == 2);

  // The same job cut after its first epoch and resumed with the same ranks.
  REQUIRE(test::run_command(job(2, tiny_job(tmp / "data", cut, 2)) + " --stop-after-epochs 1", tmp.path()).exit_code == 0);
  const auto resumed = test::run_command(job(2, {"--resume", cut.string()}), tmp.path());
  INFO(resumed.out << resumed.err);
  REQUIRE(resumed.exit_code == 0);
  CHECK(test::read_bytes(cut / "model.safetensors") == test::read_bytes(whole / "model.safetensors"));
}

TEST_CASE("mpirun: a job saved with 2 ranks resumes with 1, and one saved by 1 process resumes with 2", "[apps][program][mpi]") {
  test::temp_dir tmp("cnnzoo-train-mpi-resize");
  test::write_learnable_data(tmp / "data", 320, 64);
  const fs::path down = tmp / "down", up = tmp / "up";
  REQUIRE(test::run_command(job(2, tiny_job(tmp / "data", down, 2)) + " --stop-after-epochs 1", tmp.path()).exit_code == 0);
  const auto one = test::run_command("'" + test_program + "' --resume '" + down.string() + "'", tmp.path());
  INFO(one.out << one.err);
  REQUIRE(one.exit_code == 0);
  CHECK(test::read_json(down / "report.json")["config"]["job"]["ranks"] == 1);
  CHECK(test::read_json(down / "report.json")["epochs"] == 2);

  REQUIRE(test::run_command("'" + test_program + "'" + shell_words(tiny_job(tmp / "data", up, 2)) + " --stop-after-epochs 1",
                            tmp.path())
              .exit_code == 0);
  const auto two = test::run_command(job(2, {"--resume", up.string()}), tmp.path());
  INFO(two.out << two.err);
  REQUIRE(two.exit_code == 0);
  CHECK(test::read_json(up / "report.json")["config"]["job"]["ranks"] == 2);
}

TEST_CASE("mpirun: --sync-bn is recorded, kept on resume, and refused as a change", "[apps][program][mpi]") {
  test::temp_dir tmp("cnnzoo-train-mpi-syncbn");
  test::write_learnable_data(tmp / "data", 160, 32);
  auto args = tiny_job(tmp / "data", tmp / "run", 1);
  args.push_back("--sync-bn");
  const auto r = test::run_command(job(2, args), tmp.path());
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("over all ranks (--sync-bn)"));
  CHECK(test::read_json(tmp / "run" / "report.json")["config"]["job"]["sync_bn"] == true);
  const auto change = test::run_command(job(2, {"--resume", (tmp / "run").string(), "--sync-bn"}), tmp.path());
  CHECK(change.exit_code == 2);
  CHECK_THAT(change.err, Contains("--sync-bn"));
}

TEST_CASE("mpirun: ranks that cannot share a step, and a rank that reads other data, stop the job with its reason",
          "[apps][program][mpi]") {
  test::temp_dir tmp("cnnzoo-train-mpi-refusals");
  test::write_learnable_data(tmp / "data", 160, 32);
  test::write_learnable_data(tmp / "other", 165, 32);

  // 33 images in steps of 16: the last step's one image cannot go to two ranks.
  auto uneven = tiny_job(tmp / "data", tmp / "uneven", 1, 16);
  for (const char* a : {"--limit-train", "33"}) uneven.push_back(a);
  const auto r = test::run_command(job(2, uneven), tmp.path());
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("cannot share the last step of each epoch (1 of 33 images)"));

  // Rank 1 pointed at other files (mpirun's MPMD form: one program line per rank).
  const auto start = std::chrono::steady_clock::now();
  const auto other = test::run_command(mpirun + " -np 1 '" + test_program + "'" +
                                           shell_words(tiny_job(tmp / "data", tmp / "mixed", 1)) + " : -np 1 '" +
                                           test_program + "'" + shell_words(tiny_job(tmp / "other", tmp / "mixed", 1)),
                                       tmp.path());
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(60));
  CHECK(other.exit_code == 4);   // exit_bad_data, from the rank that found it
  CHECK_THAT(other.err, Contains("[rank 1 of 2]") && Contains("rank 1 reads other data in"));

  // Rank 1 resuming a stale copy of the checkpoint (one epoch behind rank 0's).
  REQUIRE(test::run_command("'" + test_program + "'" + shell_words(tiny_job(tmp / "data", tmp / "ahead", 3)) +
                                " --stop-after-epochs 2",
                            tmp.path())
              .exit_code == 0);
  REQUIRE(test::run_command("'" + test_program + "'" + shell_words(tiny_job(tmp / "data", tmp / "behind", 3)) +
                                " --stop-after-epochs 1",
                            tmp.path())
              .exit_code == 0);
  const auto stale = test::run_command(mpirun + " -np 1 '" + test_program + "' --resume '" + (tmp / "ahead").string() +
                                           "' : -np 1 '" + test_program + "' --resume '" + (tmp / "behind").string() + "'",
                                       tmp.path());
  CHECK(stale.exit_code == 5);   // exit_bad_checkpoint
  CHECK_THAT(stale.err, Contains("[rank 1 of 2]") && Contains("starts from another recipe or checkpoint than rank 0"));
}

TEST_CASE("mpirun: SIGUSR1 to mpirun stops the job with a checkpoint that resumes bit-identically", "[apps][program][mpi]") {
  test::temp_dir tmp("cnnzoo-train-mpi-signal");
  test::write_learnable_data(tmp / "data", 2000, 32);
  auto args_for = [&](const fs::path& out) {
    auto a = tiny_job(tmp / "data", out, 30, 16);   // 30 epochs of 125 steps: a few seconds
    a.push_back("--sync-bn");
    return a;
  };
  REQUIRE(test::run_command(job(2, args_for(tmp / "whole")), tmp.path()).exit_code == 0);

  std::vector<std::string> args = words(mpirun);
  for (const auto& a : std::vector<std::string>{"-np", "2", test_program}) args.push_back(a);
  for (const auto& a : args_for(tmp / "cut")) args.push_back(a);
  test::process launcher(args, tmp.path());
  // Once the first epoch is saved, the job is training.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!fs::exists(tmp / "cut" / "checkpoint.bin") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  // SIGUSR1, which mpirun forwards to every rank (SIGTERM would make it end them before they save).
  launcher.signal(SIGUSR1);
  const std::optional<int> code = launcher.wait_for(std::chrono::seconds(60));
  REQUIRE(code);
  INFO("the job ended with " << *code << "\n" << test::read_text(tmp / "stderr.txt"));
  REQUIRE(*code == 9);
  const auto resumed = test::run_command(job(2, {"--resume", (tmp / "cut").string()}), tmp.path());
  INFO(resumed.out << resumed.err);
  REQUIRE(resumed.exit_code == 0);
  CHECK(test::read_bytes(tmp / "cut" / "model.safetensors") == test::read_bytes(tmp / "whole" / "model.safetensors"));
}

TEST_CASE("mpirun: a rank killed mid-epoch ends the job within seconds, naming the rank; the checkpoint survives",
          "[apps][program][mpi][kill]") {
  test::temp_dir tmp("cnnzoo-train-mpi-kill");
  test::write_learnable_data(tmp / "data", 2000, 32);
  const fs::path out = tmp / "run";
  std::vector<std::string> args = words(mpirun);
  for (const auto& a : std::vector<std::string>{"-np", "2", test_program}) args.push_back(a);
  for (const auto& a : tiny_job(tmp / "data", out, 200)) args.push_back(a);
  test::process launcher(args, tmp.path());
  // Wait for the first checkpoint: the job is then somewhere in a later epoch.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!fs::exists(out / "checkpoint.bin") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  REQUIRE(fs::exists(out / "checkpoint.bin"));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const std::optional<pid_t> victim = rank_process(launcher.pid(), 1);
  REQUIRE(victim);
  const auto killed_at = std::chrono::steady_clock::now();
  ::kill(*victim, SIGKILL);
  const std::optional<int> code = launcher.wait_for(std::chrono::seconds(30));
  if (!code) launcher.signal(SIGKILL);
  REQUIRE(code);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
  const std::string err = test::read_text(tmp / "stderr.txt");
  INFO(err << "\nended " << seconds << " s after the kill");
  CHECK(*code != 0);
  CHECK(seconds < 30);
  CHECK_THAT(err, Contains("rank 1") && Contains("signal 9"));
  // The checkpoint is whole, and the job continues from it (as one process here).
  const auto again = test::run_command("'" + test_program + "' --resume '" + out.string() + "' --stop-after-epochs 1", tmp.path());
  INFO(again.out << again.err);
  CHECK(again.exit_code == 0);
}
