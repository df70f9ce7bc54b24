// A small wide ResNet (WRN-16-2: the WRN-28-10 templates at depth 16, width 2, dropout included)
// on the GPU: one training step against the fp64 CPU policy in fp32, bf16 and fp16, with the
// same dropout masks, and GPU training steps that lower the loss.
#include <catch2/catch.hpp>

#include <cnnzoo/models/wide_resnet.hpp>

#include "model_parity.hpp"

using namespace cnnzoo;
using namespace cnnzoo::testing::gpu;

namespace {
struct wrn_16_2 : models::wide_resnet<16, 2> {};
}  // namespace

TEST_CASE("cuda policy: WRN-16-2 step matches the CPU in fp32, tf32, bf16 and fp16", "[cuda][gpu][models][wrn]") {
  check_model_parity<wrn_16_2>(8);
}

TEMPLATE_TEST_CASE("cuda policy: WRN-16-2 GPU steps lower the loss", "[cuda][gpu][models][wrn]", fp32, bf16, fp16) {
  check_gpu_training_lowers_loss<wrn_16_2, TestType>(32, 12, 0.05);
}
