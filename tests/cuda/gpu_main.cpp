// Catch2's runner for the GPU tests: without a usable CUDA device it prints why and exits with
// 77, which CTest reports as skipped (SKIP_RETURN_CODE), so CPU-only machines stay green.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>

#include <cnnzoo/exec/cuda.hpp>
#include <cnnzoo/exec/cuda/cudnn_version.hpp>

int main(int argc, char** argv) {
  const std::string why = cnnzoo::exec::cuda_unavailable_reason();
  if (!why.empty()) {
    std::printf("SKIP: no CUDA device (%s)\n", why.c_str());
    return 77;
  }
  std::printf("CUDA device: %s\n", cnnzoo::exec::cuda_device_description().c_str());
  std::printf("%s\n", cnnzoo::exec::cudnn_library().describe().c_str());
  return Catch::Session().run(argc, argv);
}
