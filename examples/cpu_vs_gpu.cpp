// Run a zoo model on the CPU and on the GPU from the same parameters and compare what they compute.
// The program binds one model type to two execution policies; nothing else changes.
//
//   build/examples/example_cpu_vs_gpu            # built where the CUDA policy is (nvcc and cuDNN 9)
#include <cnnzoo/exec/cuda.hpp>
#include <cnnzoo/exec/eigen.hpp>
#include <cnnzoo/models/resnet.hpp>

#include <cmath>
#include <cstdio>
#include <vector>

using namespace cnnzoo;

int main() {
  if (!exec::cuda_available()) {
    std::printf("no CUDA device here (%s): nothing to compare\n", exec::cuda_unavailable_reason().c_str());
    return 77;   // "skipped", for CTest
  }
  using model = models::resnet18;
  const int batch = 8;
  network<model, exec::eigen<float>> cpu{batch, /*seed=*/1};
  network<model, exec::cuda<fp32>> gpu{batch};
  gpu.upload_params(cpu.download_params());   // the same parameters and BatchNorm statistics
  gpu.upload_state(cpu.download_state());
  cpu.set_training(false);
  gpu.set_training(false);

  std::vector<float> images(batch * 3 * 32 * 32);
  rng g(7);
  for (float& v : images) v = static_cast<float>(g.normal());
  const std::vector<float> a = cpu.logits_host(images.data(), batch), b = gpu.logits_host(images.data(), batch);
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff += (a[i] - b[i]) * double(a[i] - b[i]);
    norm += a[i] * double(a[i]);
  }
  const double rel = std::sqrt(diff / norm);
  std::printf("ResNet18 logits, %s against eigen<float>: relative L2 difference %.2e on %s\n",
              std::string(exec::cuda<fp32>::name).c_str(), rel, exec::cuda_device_description().c_str());
  return rel < 1e-4 ? 0 : 1;
}
