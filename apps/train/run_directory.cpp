#include "run_directory.hpp"

#include <cerrno>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cnnzoo/core/files.hpp>

#include "exit_codes.hpp"
#include "trainer.hpp"

namespace cnnzoo::trainer {

namespace fs = std::filesystem;

run_directory::run_directory(fs::path dir) : dir_(std::move(dir)) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec || !fs::is_directory(dir_))
    throw write_error("cnnzoo-train: cannot create the output directory " + dir_.string() + ": " +
                      (ec ? ec.message() : std::string("a file of that name is in the way")));
  const fs::path lock = dir_ / lock_file;
  fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw write_error("cnnzoo-train: cannot create the lock file " + lock.string() + ": " + files::errno_text(errno) +
                      (errno == ELOOP ? " (it is a symbolic link; remove it)" : ""));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char pid[32] = {0};
    const ssize_t n = ::pread(fd_, pid, sizeof pid - 1, 0);
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK)
      throw train_error("cnnzoo-train: " + dir_.string() + " is in use by another cnnzoo-train" +
                            (n > 0 ? " (process " + std::string(pid, static_cast<std::size_t>(n)) + ")" : std::string()) +
                            "; wait for it to end, or choose another --out",
                        exit_out_dir_taken);
    throw write_error("cnnzoo-train: cannot lock " + lock.string() + ": " + files::errno_text(err));
  }
  // The holder's pid, for the message a second trainer prints.
  const std::string me = std::to_string(::getpid());
  if (::ftruncate(fd_, 0) == 0) (void)!::pwrite(fd_, me.data(), me.size(), 0);
  files::remove_stale_temporaries(dir_);
}

run_directory::~run_directory() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock
}

std::string run_directory::earlier_run() const {
  std::string found;
  std::error_code ec;
  for (const char* f : {checkpoint_file, metrics_file, report_file, model_file})
    if (fs::exists(fs::symlink_status(dir_ / f, ec))) found += (found.empty() ? "" : ", ") + std::string(f);
  return found;
}

bool same_directory(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  if (fs::exists(a, ec) && fs::exists(b, ec)) {
    const bool eq = fs::equivalent(a, b, ec);
    if (!ec) return eq;
  }
  auto normal = [](const fs::path& p) {
    std::error_code e;
    fs::path n = fs::weakly_canonical(fs::absolute(p, e), e).lexically_normal();
    return n.has_filename() ? n : n.parent_path();  // "runs/a/" names "runs/a"
  };
  return normal(a) == normal(b);
}

}  // namespace cnnzoo::trainer
