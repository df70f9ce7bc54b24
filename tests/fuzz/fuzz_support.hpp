#pragma once
// For the fuzz targets: bytes as a file path (a memfd, never on disk), for readers that take paths.
#include <cstddef>
#include <cstdint>
#include <string>

#include <sys/mman.h>
#include <unistd.h>

namespace cnnzoo::fuzz {

class memory_file {
public:
  memory_file(const std::uint8_t* data, std::size_t size) : fd_(::memfd_create("cnnzoo-fuzz", MFD_CLOEXEC)) {
    std::size_t done = 0;
    while (fd_ >= 0 && done < size) {
      const ssize_t w = ::write(fd_, data + done, size - done);
      if (w <= 0) break;
      done += static_cast<std::size_t>(w);
    }
  }
  ~memory_file() {
    if (fd_ >= 0) ::close(fd_);
  }
  memory_file(const memory_file&) = delete;
  memory_file& operator=(const memory_file&) = delete;
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }

private:
  int fd_;
};

}  // namespace cnnzoo::fuzz
