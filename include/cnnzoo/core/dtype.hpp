#pragma once
// Precision tags. The CPU policy computes in the C++ type it is given (float or double); the
// GPU policy takes one of these tags to pick its compute type (master weights stay fp32).
namespace cnnzoo {
struct fp32 { static constexpr const char* name = "fp32"; };
struct bf16 { static constexpr const char* name = "bf16"; };
struct fp16 { static constexpr const char* name = "fp16"; };
}  // namespace cnnzoo
