#pragma once
// The output directory of a run, owned by one trainer at a time.
//
// An exclusive flock(2) on DIR/.cnnzoo-train.lock is taken for the life of the run: a second
// trainer pointed at the same directory is refused at once with the first one's process id, and
// the kernel releases the lock however the holder ends (exit, crash, SIGKILL), so a lock never
// outlives its run. Under the lock, temporaries that a killed writer left are removed.
#include <filesystem>
#include <string>

namespace cnnzoo::trainer {

class run_directory {
public:
  // Creates `dir` if needed and locks it; throws train_error (exit_out_dir_taken) when another
  // trainer holds it, write_error when it cannot be created or locked.
  explicit run_directory(std::filesystem::path dir);
  ~run_directory();
  run_directory(const run_directory&) = delete;
  run_directory& operator=(const run_directory&) = delete;

  const std::filesystem::path& path() const noexcept { return dir_; }
  // What an earlier run left here ("checkpoint.bin, metrics.jsonl"), or "" when the directory holds
  // no run. Names only: reading a checkpoint (gigabytes for the largest rows) to say more would
  // cost start-up time.
  std::string earlier_run() const;

  static constexpr const char* lock_file = ".cnnzoo-train.lock";

private:
  std::filesystem::path dir_;
  int fd_ = -1;
};

// Whether two spellings name the same directory ("runs/a", "runs/a/", "./runs/a", a symlink to it).
bool same_directory(const std::filesystem::path& a, const std::filesystem::path& b);

}  // namespace cnnzoo::trainer
