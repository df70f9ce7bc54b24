#include "memory.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>

namespace cnnzoo::trainer {

namespace {

// Bytes per activation value kept for backward (model_info::activations), per image of a training
// step on the Eigen policy: measured 8.0 (the value and its gradient, in float) on ResNet18,
// WRN-28-10 and DenseNet100, from the peak resident size at two batch sizes (docs/RELIABILITY.md);
// a quarter more for the convolution workspace and what the measurement did not see.
constexpr double training_bytes_per_activation = 10.0;
// Parameters are held as values, gradients and momentum, plus, at a checkpoint, host copies of the
// parameters and state, the checkpoint's own copy of each section, and the weights file's copy:
// measured at most 33 bytes per parameter (data included) on the same three networks.
constexpr double bytes_per_parameter = 36.0;

std::optional<std::uint64_t> read_number(const char* path) {
  std::ifstream in(path);
  std::string text;
  if (!(in >> text) || text == "max") return std::nullopt;
  try {
    return std::stoull(text);
  } catch (...) {
    return std::nullopt;
  }
}

}  // namespace

memory_need estimate_memory(const zoo::model_info& model, const data::data_files& files, bool host_batch) {
  memory_need n;
  // The training files are read one at a time into the growing set; the last file's raw bytes and
  // a held-out split's copy are briefly there as well.
  n.data = files.train_bytes + files.train_bytes / 4 + files.test_bytes + (std::uint64_t{64} << 20);
  n.network = static_cast<std::uint64_t>(bytes_per_parameter * static_cast<double>(model.keras_total)) +
              (std::uint64_t{128} << 20);  // the program, its libraries, thread stacks
  const std::uint64_t batch_input = 4 * data::cifar10_image_bytes * 2;  // rendered images and targets
  n.per_image = batch_input + (host_batch ? static_cast<std::uint64_t>(training_bytes_per_activation *
                                                                       static_cast<double>(model.activations))
                                          : 0);
  return n;
}

std::optional<std::uint64_t> available_memory() {
  std::optional<std::uint64_t> avail;
  {
    std::ifstream in("/proc/meminfo");
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("MemAvailable:", 0) == 0) {
        std::istringstream fields(line.substr(13));
        std::uint64_t kib = 0;
        if (fields >> kib) avail = kib * 1024;
        break;
      }
    }
  }
  if (const auto limit = read_number("/sys/fs/cgroup/memory.max")) {
    const std::uint64_t used = read_number("/sys/fs/cgroup/memory.current").value_or(0);
    const std::uint64_t room = *limit > used ? *limit - used : 0;
    avail = avail ? std::min(*avail, room) : room;
  }
  return avail;
}

int largest_batch_that_fits(const memory_need& need, std::uint64_t available) {
  const std::uint64_t fixed = need.data + need.network;
  if (available <= fixed) return 0;
  if (need.per_image == 0) return std::numeric_limits<int>::max();
  return static_cast<int>(std::min<std::uint64_t>((available - fixed) / need.per_image, std::numeric_limits<int>::max()));
}

std::string gibibytes(std::uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(bytes) / static_cast<double>(1ull << 30));
  return buf;
}

}  // namespace cnnzoo::trainer
