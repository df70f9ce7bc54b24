// Pre-activation ResNet18's structure at a quarter of its width on the GPU: one training step
// against the fp64 CPU policy in fp32, bf16 and fp16, and GPU training steps that lower the loss.
#include <catch2/catch.hpp>

#include <cnnzoo/models/resnet.hpp>

#include "model_parity.hpp"

using namespace cnnzoo;
using namespace cnnzoo::testing::gpu;

namespace {
// ResNet18's stages, units, strides and projections at base width 16 instead of 64.
struct resnet18_quarter : models::pre_act_resnet<models::preact_basic_unit, 16, 2, 2, 2, 2> {};
}  // namespace

TEST_CASE("cuda policy: ResNet18 (width/4) step matches the CPU in fp32, tf32, bf16 and fp16",
          "[cuda][gpu][models][resnet]") {
  check_model_parity<resnet18_quarter>(8);
}

TEMPLATE_TEST_CASE("cuda policy: ResNet18 (width/4) GPU steps lower the loss", "[cuda][gpu][models][resnet]", fp32,
                   bf16, fp16) {
  check_gpu_training_lowers_loss<resnet18_quarter, TestType>(32, 12, 0.05);
}

TEST_CASE("cuda policy: full ResNet18 runs a bf16 step at batch 128", "[cuda][gpu][models][resnet]") {
  check_gpu_training_lowers_loss<models::resnet18, bf16>(128, 10, 0.05, 0.9);
}
