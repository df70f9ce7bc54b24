#pragma once
// A program run as a child process, stdout and stderr appended to files in `log_dir`; signalled,
// killed or waited for (with a deadline). The process-level trainer tests start cnnzoo-train and
// mpirun through it.
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

namespace cnnzoo::test {

class process {
public:
  process(const std::vector<std::string>& args, const std::filesystem::path& log_dir) {
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      const int out = ::open((log_dir / "stdout.txt").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      const int err = ::open((log_dir / "stderr.txt").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(out, 1);
      ::dup2(err, 2);
      std::vector<char*> argv;
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  pid_t pid() const noexcept { return pid_; }
  void signal(int s) const { ::kill(pid_, s); }
  // The exit code, or 128 + the signal that ended it.
  int wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    return code(status);
  }
  // The same, or nothing if it is still running after `limit` (it is then left running).
  std::optional<int> wait_for(std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    for (;;) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) return code(status);
      if (std::chrono::steady_clock::now() >= end) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

private:
  static int code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }
  pid_t pid_ = -1;
};

}  // namespace cnnzoo::test
