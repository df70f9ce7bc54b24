// Zoo models with stochastic depth, depthwise convolutions and hard-swish, dense concatenation,
// and dropout-heavy dense heads, at full size and batch 2: one training step of the CUDA policy
// against the fp64 CPU policy in fp32, tf32, bf16 and fp16.
#include <catch2/catch.hpp>

#include <cnnzoo/models/alexnet.hpp>
#include <cnnzoo/models/densenet.hpp>
#include <cnnzoo/models/mobilenet.hpp>
#include <cnnzoo/models/stochastic_depth.hpp>

#include "model_parity.hpp"

using namespace cnnzoo;
using namespace cnnzoo::testing::gpu;

TEMPLATE_TEST_CASE("cuda policy: zoo model steps match the CPU (drop-path, depthwise, dense blocks, dropout)",
                   "[cuda][gpu][models][zoo]", models::stochastic_depth_resnet50, models::mobilenet_v3,
                   models::densenet100, models::alexnet) {
  check_model_parity<TestType>(2);   // one fp64 reference, then fp32, tf32, bf16 and fp16
}
