#pragma once
// The host memory a run needs, computed before anything is loaded, so that a run that cannot fit
// fails at once with the size it needs and a batch size that fits, not with std::bad_alloc after
// the data has loaded (or after the system has started swapping).
#include <cstdint>
#include <optional>
#include <string>

#include <cnnzoo/data/cifar10.hpp>

#include "zoo/registry.hpp"

namespace cnnzoo::trainer {

struct memory_need {
  std::uint64_t data = 0;        // the data set as loaded (training, validation and test images)
  std::uint64_t network = 0;     // parameters, gradients, momentum and the copies a checkpoint takes
  std::uint64_t per_image = 0;   // activations, their gradients and the batch, per image of a batch
  std::uint64_t total(int batch) const noexcept { return data + network + per_image * static_cast<std::uint64_t>(batch); }
};

// The estimate for `model` trained on `files`, on the host (`host_batch`: whether the batch's
// activations live in host memory, i.e. training on the CPU). Measured on ResNet18, WRN-16-4 and
// DenseNet100 with the Eigen policy (docs/RELIABILITY.md): the peak resident size stays below it.
memory_need estimate_memory(const zoo::model_info& model, const data::data_files& files, bool host_batch);

// Memory this process can still use: the least of the system's available memory
// (/proc/meminfo MemAvailable) and the room left under a cgroup v2 limit; nullopt if unknown.
std::optional<std::uint64_t> available_memory();

// The largest batch for which need.total(batch) fits in `available` (0 when not even the data and
// the network fit).
int largest_batch_that_fits(const memory_need& need, std::uint64_t available);

// "1.50 GiB"
std::string gibibytes(std::uint64_t bytes);

}  // namespace cnnzoo::trainer
