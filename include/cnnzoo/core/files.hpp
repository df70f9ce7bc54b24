#pragma once
// Files that cnnzoo writes and reads, made safe against crashes, careless paths and hostile ones.
//
// Writing (`write_atomically`): every output (checkpoint, weights, metrics, report, plot, ONNX) goes
// through one helper. The bytes go to a temporary created exclusively (O_CREAT | O_EXCL) with a name
// no other writer uses (`.NAME.tmp-PID-N` beside NAME) and never through a symlink (O_NOFOLLOW); the
// temporary is fsync'ed, renamed over NAME (rename replaces a symlink at NAME, never its target) and
// the directory fsync'ed. A crash at any moment leaves the previous NAME or the new one, never a
// mixture, and writes nothing outside the directory.
//
// Reading (`read_regular_file`): a file is opened without blocking (a FIFO cannot hang the reader),
// checked to be a regular file, and read only up to a stated plausible size, so /dev/zero, a
// directory or a multi-gigabyte mistake is refused with what it is instead of being read.
// POSIX only.
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.hpp"

namespace cnnzoo {

// An output that cannot be written: disk full, no permission, a symlink where the file should be.
// The previous version of the file is untouched when this is thrown.
class write_error : public error {
public:
  using error::error;
};

// Thrown only by the test hooks of save_options, standing in for a crash.
class simulated_crash : public write_error {
public:
  using write_error::write_error;
};

// Test hooks that stand in for a crash during write_atomically.
struct save_options {
  std::optional<std::size_t> crash_after_bytes;  // write this many bytes of the temporary, then "crash"
  bool crash_before_rename = false;              // write the temporary completely, then "crash"
};

namespace files {

inline std::string errno_text(int err) { return std::strerror(err); }

// "a directory", "a FIFO", ... for messages about a path that is not a regular file.
inline std::string kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISREG(mode)) return "a regular file";
  return "not a regular file";
}

// The temporaries of write_atomically start with this (".NAME.tmp-PID-N"), so that the owner of a
// directory can remove what a killed writer left (`remove_stale_temporaries`).
inline constexpr std::string_view temporary_marker = ".tmp-";

inline std::filesystem::path temporary_for(const std::filesystem::path& path) {
  static std::atomic<unsigned> counter{0};
  std::string name = "." + path.filename().string() + std::string(temporary_marker) + std::to_string(::getpid()) +
                     "-" + std::to_string(counter.fetch_add(1));
  return path.has_parent_path() ? path.parent_path() / name : std::filesystem::path(name);
}

// Removes the temporaries of write_atomically in `dir` (left by a writer that was killed). Only
// for a directory whose writers are known to be gone, e.g. one held under a lock.
inline std::size_t remove_stale_temporaries(const std::filesystem::path& dir) {
  std::size_t removed = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    if (n.size() > 1 && n[0] == '.' && n.find(temporary_marker) != std::string::npos && !e.is_directory(ec)) {
      std::error_code rm;
      if (std::filesystem::remove(e.path(), rm)) ++removed;
    }
  }
  return removed;
}

}  // namespace files

// Writes a file atomically (see the top of this header): `produce(sink)` calls sink(bytes, n) for
// its bytes. `what` names the file in messages ("checkpoint", "weights file"). On any error the
// previous PATH is untouched and a write_error names the file and the system's reason.
template <class Produce>
void write_atomically(const std::filesystem::path& path, std::string_view what, Produce&& produce,
                      const save_options& opt = {}) {
  namespace fs = std::filesystem;
  const std::string kind(what);
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  const fs::path tmp = files::temporary_for(path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0)
    throw write_error("cnnzoo: cannot create " + kind + " " + tmp.string() + ": " + files::errno_text(errno) +
                      " (check that the directory exists and is writable)");
  struct fd_guard {  // closes on every path; removes the partial file unless a crash is simulated
    int fd;
    const fs::path& tmp;
    bool remove = true;
    ~fd_guard() {
      if (fd >= 0) ::close(fd);
      if (remove) { std::error_code e; fs::remove(tmp, e); }
    }
  } guard{fd, tmp};

  std::size_t written = 0;
  produce([&](const std::uint8_t* p, std::size_t n) {
    if (opt.crash_after_bytes && written + n > *opt.crash_after_bytes) n = *opt.crash_after_bytes - written;
    while (n > 0) {
      const ssize_t w = ::write(fd, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        throw write_error("cnnzoo: writing " + kind + " " + tmp.string() + " failed: " + files::errno_text(errno) +
                          (errno == ENOSPC ? " (the disk is full; free space and retry)" : "") + ". The previous " +
                          kind + " " + path.string() + " is untouched.");
      }
      p += w;
      n -= static_cast<std::size_t>(w);
      written += static_cast<std::size_t>(w);
    }
    if (opt.crash_after_bytes && written >= *opt.crash_after_bytes) {
      guard.remove = false;
      throw simulated_crash("cnnzoo: simulated crash after writing " + std::to_string(written) + " bytes of " + tmp.string());
    }
  });
  if (::fsync(fd) != 0)
    throw write_error("cnnzoo: flushing " + kind + " " + tmp.string() + " to disk failed: " + files::errno_text(errno) +
                      ". The previous " + kind + " " + path.string() + " is untouched.");
  ::close(guard.fd);
  guard.fd = -1;
  if (opt.crash_before_rename) {
    guard.remove = false;
    throw simulated_crash("cnnzoo: simulated crash before renaming " + tmp.string() + " to " + path.string());
  }
  // rename() replaces whatever entry PATH is, a symlink included, and never writes through it.
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    throw write_error("cnnzoo: cannot rename " + tmp.string() + " to " + path.string() + ": " +
                      files::errno_text(errno) + ". The previous " + kind + " is untouched.");
  guard.remove = false;
  // Make the rename itself durable; failure here only weakens the guarantee, it loses nothing.
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

// The whole of `bytes` (or a string's characters), atomically.
inline void write_file_atomically(const std::filesystem::path& path, std::string_view what, std::string_view bytes) {
  write_atomically(path, what, [&](auto sink) {
    sink(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  });
}

// Reads PATH whole, refusing (with an Error naming the file, `what` it should be, and why) a path
// that does not exist, cannot be opened (a permission, an unreadable directory), is not a regular
// file (directory, FIFO, device: checked without blocking) or is larger than `max_bytes`.
// Symlinks to regular files are followed: a data directory of links is common and harmless.
template <class Error>
std::vector<std::uint8_t> read_regular_file(const std::filesystem::path& path, std::string_view what,
                                            std::uint64_t max_bytes) {
  const std::string name = std::string(what) + " " + path.string();
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) throw Error("cnnzoo: " + name + " does not exist");
    throw Error("cnnzoo: cannot open " + name + ": " + files::errno_text(err) +
                (err == EACCES ? " (check the permissions of the file and of its directories)" : ""));
  }
  struct closer {
    int fd;
    ~closer() { ::close(fd); }
  } close_on_exit{fd};
  struct stat st{};
  if (::fstat(fd, &st) != 0) throw Error("cnnzoo: cannot examine " + name + ": " + files::errno_text(errno));
  if (!S_ISREG(st.st_mode)) throw Error("cnnzoo: " + name + " is " + files::kind_of(st.st_mode) + ", not a regular file");
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size > max_bytes)
    throw Error("cnnzoo: " + name + " has " + std::to_string(size) + " bytes, more than the " +
                std::to_string(max_bytes) + " such a file can plausibly have; is it the right file?");
  // A regular file does not block; clear O_NONBLOCK anyway so reads behave as usual.
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  std::size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t r = ::read(fd, bytes.data() + got, bytes.size() - got);
    if (r < 0) {
      if (errno == EINTR) continue;
      throw Error("cnnzoo: reading " + name + " failed after " + std::to_string(got) + " of " +
                  std::to_string(size) + " bytes: " + files::errno_text(errno));
    }
    if (r == 0)
      throw Error("cnnzoo: reading " + name + " stopped after " + std::to_string(got) + " of " + std::to_string(size) +
                  " bytes (the file shrank while it was read)");
    got += static_cast<std::size_t>(r);
  }
  return bytes;
}

}  // namespace cnnzoo
