// The NCCL engine (dist/nccl.hpp) on one GPU: a one-rank job's sum is the identity, bit for bit,
// on a gradient buffer the CUDA policy computed, so a one-rank NCCL step equals the plain step.
// Two ranks need two GPUs: scripts/gpu-check.sh runs this program under mpirun where it finds them
// (the sums below are then checked against the ranks' known contributions).
#include <catch2/catch.hpp>

#include <cuda_runtime.h>

#include <cmath>
#include <vector>

#include <cnnzoo/cnnzoo.hpp>
#include <cnnzoo/dist/nccl.hpp>
#include <cnnzoo/exec/cuda.hpp>
#include <cnnzoo/train/step.hpp>

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

namespace {
struct small_net : seq<conv<conv_args{.out = 8, .kernel = 3}>, batch_norm, relu, global_avg_pool, dense<10>> {};
}  // namespace

TEST_CASE("nccl: a one-rank job's step equals the plain step on the CUDA policy's own gradients", "[gpu][dist][nccl]") {
  using net_t = network<small_net, exec::cuda<fp32>>;
  constexpr int n = 8;
  net_t plain(n, 5), job(n, 5);
  dist::solo one;
  dist::nccl_reducer nccl(one, 0);
  std::vector<float> images(static_cast<std::size_t>(n) * 3 * 32 * 32), targets(static_cast<std::size_t>(n) * 10, 0.0f);
  rng g(9);
  for (float& v : images) v = static_cast<float>(g.normal());
  for (int i = 0; i < n; ++i) targets[static_cast<std::size_t>(i) * 10 + g.below(10)] = 1.0f;
  for (net_t* net : {&plain, &job}) {
    net->set_training(true);
    net->set_input(images.data(), n);
    net->forward_seeded(n, 0);
    net->set_targets(targets.data(), n);
    (void)net->policy().softmax_cross_entropy(n, 10, net->logits(n), net->targets(), net->dlogits());
    net->backward(net->dlogits(), n);
  }
  const auto before = job.download_grads();
  nccl.sum(job.grads(), net_t::param_count(), job.policy().stream());
  job.policy().synchronize();
  CHECK(job.download_grads() == before);
  CHECK(job.download_grads() == plain.download_grads());
  train::sgd<exec::cuda<fp32>> sgd_plain(plain.policy(), net_t::param_count()), sgd_job(job.policy(), net_t::param_count());
  sgd_plain.options().lr = sgd_job.options().lr = 0.1;
  (void)sgd_plain.step(plain.policy(), plain.params(), plain.grads(), plain.decay_mask());
  (void)sgd_job.step(job.policy(), job.params(), job.grads(), job.decay_mask(), 1.0 / nccl.size());
  CHECK(job.download_params() == plain.download_params());
}
