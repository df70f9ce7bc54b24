#pragma once
// Data-parallel training: what the ranks of one job say to each other, whatever carries it.
//
// One process per device; every rank holds the whole network. Each step, every rank trains on its
// own slice of the global batch (shard()), and the gradients are summed across ranks before the
// update (gradient_exchange.hpp), so every rank takes the same step and the weights stay identical.
//
// communicator is the engine-neutral interface: host-memory collectives (sums, broadcast) that the
// trainer and the CPU policy's synchronized BatchNorm use. Engines:
//   dist::solo           one process (this header): every collective is the identity
//   dist::mpi_world      MPI_COMM_WORLD (dist/mpi.hpp; a program launched by mpirun)
//   dist::nccl_reducer   the GPU-memory gradient sum of the CUDA policy (dist/nccl.hpp), set up
//                        over an MPI communicator
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <stdexcept>
#include <string>

#include "../core/error.hpp"

namespace cnnzoo::dist {

// A collective that failed, or ranks that disagree (other data, other weights).
class dist_error : public cnnzoo::error {
public:
  using cnnzoo::error::error;
};

class communicator {
public:
  virtual ~communicator() = default;
  virtual int rank() const noexcept = 0;
  virtual int size() const noexcept = 0;
  // Ranks of this job on this machine (threads per rank default to cores / local ranks).
  virtual int local_size() const noexcept = 0;
  // "mpi (Open MPI v4.1.4)", "solo".
  virtual std::string engine() const = 0;
  // In place: every rank's values become the element-wise sum over all ranks, the same bits on
  // every rank.
  virtual void sum(std::span<float> values) = 0;
  virtual void sum(std::span<double> values) = 0;
  // Every rank's bytes become root's.
  virtual void broadcast(std::span<std::byte> bytes, int root) = 0;

  template <class T>
  void broadcast_values(std::span<T> values, int root) {
    broadcast(std::as_writable_bytes(values), root);
  }
  // Whether any rank passes true (a stop request, a failed check): the same answer on every rank.
  bool any(bool mine) {
    double v = mine ? 1.0 : 0.0;
    sum(std::span<double>(&v, 1));
    return v > 0;
  }
};

// One process: the job of a plain `cnnzoo-train`.
class solo final : public communicator {
public:
  int rank() const noexcept override { return 0; }
  int size() const noexcept override { return 1; }
  int local_size() const noexcept override { return 1; }
  std::string engine() const override { return "solo"; }
  void sum(std::span<float>) override {}
  void sum(std::span<double>) override {}
  void broadcast(std::span<std::byte>, int root) override {
    if (root != 0) throw std::invalid_argument("cnnzoo: broadcast from rank " + std::to_string(root) + " of a one-rank job");
  }
};

// Whether this process was started by an MPI launcher (mpirun, mpiexec, srun): the environment
// they give their ranks. A program run on its own then stays a one-process program without
// initialising MPI at all.
inline bool launched_by_mpi() noexcept {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "MPI_LOCALNRANKS"})
    if (std::getenv(v)) return true;
  return false;
}

// Rank `rank`'s part [first, first + count) of `n` items split over `ranks`: contiguous, disjoint,
// together exactly 0..n-1, sizes differing by at most one (the first n % ranks ranks take one more).
struct share {
  std::size_t first = 0, count = 0;
};
constexpr share shard(std::size_t n, int rank, int ranks) {
  if (ranks <= 0 || rank < 0 || rank >= ranks) throw std::invalid_argument("cnnzoo: shard of a rank outside the job");
  const std::size_t r = static_cast<std::size_t>(rank), k = static_cast<std::size_t>(ranks);
  const std::size_t base = n / k, extra = n % k;
  return {r * base + (r < extra ? r : extra), base + (r < extra ? 1 : 0)};
}

}  // namespace cnnzoo::dist
