#pragma once
// The NCCL engine: the CUDA policy's gradients (fp32, in GPU memory) summed over the ranks of a
// job, one GPU per rank, on the GPU's own links (NVLink, PCIe, InfiniBand) instead of through the
// host. Link cnnzoo::nccl (cnnzoo's CMake defines it where the toolkit has NCCL).
//
//   cnnzoo::dist::mpi_world ranks;                          // or any dist::communicator
//   cnnzoo::dist::nccl_reducer nccl(ranks, /*device=*/local_rank);
//   nccl.sum(grads, count, stream);                         // queued on `stream`, in place
//
// Setting up needs one exchange of NCCL's unique id: rank 0 makes it and the communicator
// broadcasts it, so NCCL itself needs no launcher of its own. The sums are queued on the caller's
// stream and may be captured in a CUDA graph.
#include <nccl.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <span>
#include <string>

#include "communicator.hpp"

namespace cnnzoo::dist {

namespace nccl_detail {
inline void check(ncclResult_t rc, const char* what) {
  if (rc != ncclSuccess) throw dist_error(std::string("cnnzoo: ") + what + " failed: " + ncclGetErrorString(rc));
}
inline void check(cudaError_t rc, const char* what) {
  if (rc != cudaSuccess) throw dist_error(std::string("cnnzoo: ") + what + " failed: " + cudaGetErrorString(rc));
}
}  // namespace nccl_detail

class nccl_reducer {
public:
  // Collective: every rank of `ranks` constructs one, each with its own GPU. A rank whose set-up
  // fails throws dist_error while the others may still wait in NCCL: end the job then (MPI_Abort,
  // as cnnzoo-train does with any rank's error).
  nccl_reducer(communicator& ranks, int device) : size_(ranks.size()) {
    nccl_detail::check(cudaSetDevice(device), "cudaSetDevice");
    ncclUniqueId id{};
    if (ranks.rank() == 0) nccl_detail::check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    ranks.broadcast(std::as_writable_bytes(std::span<ncclUniqueId>(&id, 1)), 0);
    nccl_detail::check(ncclCommInitRank(&comm_, ranks.size(), id, ranks.rank()), "ncclCommInitRank");
  }
  ~nccl_reducer() {
    if (comm_) ncclCommDestroy(comm_);
  }
  nccl_reducer(const nccl_reducer&) = delete;
  nccl_reducer& operator=(const nccl_reducer&) = delete;

  int size() const noexcept { return size_; }
  // "nccl 2.28.9"
  static std::string engine() {
    int v = 0;
    ncclGetVersion(&v);
    return "nccl " + std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." + std::to_string(v % 100);
  }

  // In place, queued on `stream`: every rank's `count` floats at `data` (GPU memory) become their
  // sum over the ranks.
  void sum(float* data, std::size_t count, cudaStream_t stream) {
    nccl_detail::check(ncclAllReduce(data, data, count, ncclFloat32, ncclSum, comm_, stream), "ncclAllReduce");
  }
  // A failed rank elsewhere leaves NCCL waiting: abort() ends this rank's pending collectives.
  void abort() noexcept {
    if (comm_) ncclCommAbort(comm_);
    comm_ = nullptr;
  }

private:
  ncclComm_t comm_ = nullptr;
  int size_ = 1;
};

}  // namespace cnnzoo::dist
