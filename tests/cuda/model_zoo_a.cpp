// Zoo models that exercise the channel and attention ops (shuffle, broadcast scaling, channel
// pooling, softmax over branches, concat blocks) at full size and batch 2: one training step of
// the CUDA policy against the fp64 CPU policy in fp32, tf32, bf16 and fp16.
#include <catch2/catch.hpp>

#include <cnnzoo/models/cbam.hpp>
#include <cnnzoo/models/senet.hpp>
#include <cnnzoo/models/shufflenet.hpp>
#include <cnnzoo/models/sknet.hpp>

#include "model_parity.hpp"

using namespace cnnzoo;
using namespace cnnzoo::testing::gpu;

TEMPLATE_TEST_CASE("cuda policy: zoo model steps match the CPU (shuffle, SE, CBAM, SK)", "[cuda][gpu][models][zoo]",
                   models::shufflenet_v2, models::se_resnet50, models::cbam_resnet50, models::sknet) {
  check_model_parity<TestType>(2);   // one fp64 reference, then fp32, tf32, bf16 and fp16
}
