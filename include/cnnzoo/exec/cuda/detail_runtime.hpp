#pragma once
#ifndef CNNZOO_CUDA_POLICY_INTERNAL
#error "cnnzoo: exec/cuda/detail_*.hpp are internal; include <cnnzoo/exec/cuda.hpp>"
#endif
// Host-side pieces of the CUDA policy that any C++20 compiler can build: the error types, the
// status checks, device memory that frees itself, and device detection. Only the CUDA runtime's
// C API is used here, so translation units that bind models to the policy compile with g++.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <utility>

#include "../../core/error.hpp"

namespace cnnzoo::exec {

// Every failure of the CUDA runtime, cuDNN or cuBLAS inside the policy, with the op and the shapes.
class cuda_error : public cnnzoo::error {
public:
  using cnnzoo::error::error;
};

// A device allocation that did not fit; `requested` is in bytes.
class cuda_out_of_memory : public cuda_error {
public:
  cuda_out_of_memory(const std::string& what, std::size_t requested)
      : cuda_error(what), requested_(requested) {}
  std::size_t requested() const noexcept { return requested_; }

private:
  std::size_t requested_;
};

// Why no CUDA device can be used here ("" when one can): no driver, no device, ... Never throws.
inline std::string cuda_unavailable_reason() {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();   // leave no sticky error behind for later calls
    return std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e);
  }
  return count > 0 ? std::string{} : std::string("the CUDA runtime reports no device");
}

// True when the CUDA runtime finds a driver and at least one device. Never throws: on a machine
// without a GPU (or without a driver) it is simply false.
inline bool cuda_available() noexcept {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    (void)cudaGetLastError();
    return false;
  }
  return count > 0;
}

// "NVIDIA H200 (sm_90, 139.8 GiB)", or why there is none.
inline std::string cuda_device_description(int device = 0) {
  if (!cuda_available()) return "no CUDA device";
  cudaDeviceProp p{};
  if (cudaGetDeviceProperties(&p, device) != cudaSuccess) {
    (void)cudaGetLastError();
    return "CUDA device " + std::to_string(device) + " (properties unavailable)";
  }
  char mem[32];
  std::snprintf(mem, sizeof mem, "%.1f GiB", static_cast<double>(p.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0));
  return std::string(p.name) + " (sm_" + std::to_string(p.major) + std::to_string(p.minor) + ", " + mem + ")";
}

namespace cuda_detail {

inline std::string mib(std::size_t bytes) {
  char s[32];
  std::snprintf(s, sizeof s, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return s;
}

// Throws cuda_error naming the op (and, when given, the geometry) for any status but success.
// Errors of earlier asynchronous work surface at the next call that waits; the message says how
// to pin them to their op.
inline void check_cuda(cudaError_t e, const char* op, const std::string& what = {}) {
  if (e == cudaSuccess) return;
  (void)cudaGetLastError();
  std::string msg = std::string("cnnzoo: CUDA error in ") + op + (what.empty() ? "" : " (" + what + ")") + ": " +
                    cudaGetErrorName(e) + ": " + cudaGetErrorString(e);
  if (e != cudaErrorMemoryAllocation && e != cudaErrorInvalidValue)
    msg += " [kernels run asynchronously: rerun with CUDA_LAUNCH_BLOCKING=1 to pin this to its op]";
  throw cuda_error(msg);
}

// cudaMalloc with an out-of-memory message that says how much was asked for and what is free.
inline void* device_malloc(std::size_t bytes, const char* what) {
  if (bytes == 0) return nullptr;
  void* p = nullptr;
  const cudaError_t e = cudaMalloc(&p, bytes);
  if (e == cudaSuccess) return p;
  (void)cudaGetLastError();
  if (e == cudaErrorMemoryAllocation) {
    std::size_t free = 0, total = 0;
    (void)cudaMemGetInfo(&free, &total);
    (void)cudaGetLastError();
    throw cuda_out_of_memory("cnnzoo: CUDA out of memory allocating " + mib(bytes) + " for " + what + " (" +
                                 mib(free) + " free of " + mib(total) +
                                 "); a smaller batch size or a smaller cuDNN workspace limit needs less",
                             bytes);
  }
  check_cuda(e, "cudaMalloc", std::string(what) + ", " + mib(bytes));
  return nullptr;
}

// Device memory for `count` values of U, zeroed on the policy's stream; move-only, freed on
// destruction. network<> only needs data(); size() is for the tests.
template <class U>
class device_buffer {
public:
  device_buffer() = default;
  device_buffer(std::size_t count, cudaStream_t stream, const char* what = "a policy buffer")
      : data_(static_cast<U*>(device_malloc(count * sizeof(U), what))), size_(count) {
    if (data_) check_cuda(cudaMemsetAsync(data_, 0, count * sizeof(U), stream), "allocate (zero fill)", what);
  }
  device_buffer(device_buffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  device_buffer& operator=(device_buffer&& o) noexcept {
    if (this != &o) {
      release();
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  device_buffer(const device_buffer&) = delete;
  device_buffer& operator=(const device_buffer&) = delete;
  ~device_buffer() { release(); }

  U* data() noexcept { return data_; }
  const U* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

private:
  void release() noexcept {
    if (data_) (void)cudaFree(data_);   // cudaFree waits for work that still uses the memory
    data_ = nullptr;
    size_ = 0;
  }
  U* data_ = nullptr;
  std::size_t size_ = 0;
};


// Page-locked host memory: the source of asynchronous uploads (a copy from pageable memory makes
// the host wait). Move-only, freed on destruction.
class pinned_buffer {
public:
  pinned_buffer() = default;
  explicit pinned_buffer(std::size_t bytes) : size_(bytes) {
    if (bytes) check_cuda(cudaHostAlloc(&data_, bytes, cudaHostAllocDefault), "cudaHostAlloc", mib(bytes));
  }
  pinned_buffer(pinned_buffer&& o) noexcept : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  pinned_buffer& operator=(pinned_buffer&& o) noexcept {
    if (this != &o) {
      if (data_) (void)cudaFreeHost(data_);
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  pinned_buffer(const pinned_buffer&) = delete;
  pinned_buffer& operator=(const pinned_buffer&) = delete;
  ~pinned_buffer() { if (data_) (void)cudaFreeHost(data_); }
  std::byte* data() noexcept { return static_cast<std::byte*>(data_); }
  std::size_t size() const noexcept { return size_; }

private:
  void* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace cuda_detail

// A CUDA graph of the work one callable queues on a stream: captured once (nothing runs while it
// is captured), then replayed with one launch. The callable must queue the same work every time
// and must not wait for the device, allocate, or copy from pageable host memory; a capture that
// breaks these rules fails with cuda_error and leaves the stream usable.
class cuda_graph {
public:
  cuda_graph() = default;
  cuda_graph(cuda_graph&& o) noexcept : graph_(std::exchange(o.graph_, nullptr)), exec_(std::exchange(o.exec_, nullptr)) {}
  cuda_graph& operator=(cuda_graph&& o) noexcept {
    if (this != &o) {
      reset();
      graph_ = std::exchange(o.graph_, nullptr);
      exec_ = std::exchange(o.exec_, nullptr);
    }
    return *this;
  }
  cuda_graph(const cuda_graph&) = delete;
  cuda_graph& operator=(const cuda_graph&) = delete;
  ~cuda_graph() { reset(); }

  bool ready() const noexcept { return exec_ != nullptr; }

  template <class Body>
  void capture(cudaStream_t stream, Body&& body) {
    using cuda_detail::check_cuda;
    reset();
    check_cuda(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal), "CUDA graph capture (begin)");
    try {
      body();
    } catch (...) {
      cudaGraph_t broken = nullptr;
      (void)cudaStreamEndCapture(stream, &broken);   // ends the capture whatever happened in it
      if (broken) (void)cudaGraphDestroy(broken);
      (void)cudaGetLastError();
      throw;
    }
    check_cuda(cudaStreamEndCapture(stream, &graph_), "CUDA graph capture (end)");
    check_cuda(cudaGraphInstantiate(&exec_, graph_, 0), "CUDA graph instantiation");
  }
  void launch(cudaStream_t stream) const {
    cuda_detail::check_cuda(cudaGraphLaunch(exec_, stream), "CUDA graph launch");
  }
  void reset() noexcept {
    if (exec_) (void)cudaGraphExecDestroy(exec_);
    if (graph_) (void)cudaGraphDestroy(graph_);
    exec_ = nullptr;
    graph_ = nullptr;
  }

private:
  cudaGraph_t graph_ = nullptr;
  cudaGraphExec_t exec_ = nullptr;
};

}  // namespace cnnzoo::exec
