#pragma once
// GPU-side helpers: a CUDA policy of each precision beside the double-precision Eigen reference,
// transfers from and to vectors, and the tolerance each precision is held to.
#include <string>
#include <vector>

#include <cnnzoo/exec/cuda.hpp>
#include <cnnzoo/exec/eigen.hpp>

#include "support.hpp"

namespace cnnzoo::testing::gpu {

// Relative L2 tolerances against an fp64 reference that starts from the same (rounded) inputs:
// fp32 is limited by float accumulation, bf16 and fp16 by rounding each stored result
// (2^-9 and 2^-12 relative) and by the 16-bit weight copy.
template <class P> struct tolerance;
template <> struct tolerance<fp32> { static constexpr double elementwise = 1e-6, reduction = 1e-5, conv = 5e-5; };
template <> struct tolerance<bf16> { static constexpr double elementwise = 8e-3, reduction = 1.5e-2, conv = 1.5e-2; };
template <> struct tolerance<fp16> { static constexpr double elementwise = 1e-3, reduction = 2e-3, conv = 2e-3; };

// The tests' name for fp32 with TF32 tensor cores allowed (cuda_options::tf32, cnnzoo-train's
// --precision tf32): the policy is cuda<fp32>. TF32 keeps 10 mantissa bits of each GEMM input
// (2^-11 relative), so products carry about 5e-4 relative error each.
struct tf32 { static constexpr const char* name = "tf32"; };
template <> struct tolerance<tf32> { static constexpr double elementwise = 1e-6, reduction = 3e-3, conv = 3e-3; };

template <class P> struct policy_of {
  using type = exec::cuda<P>;
  static exec::cuda_options options() { return {}; }
};
template <> struct policy_of<tf32> {
  using type = exec::cuda<fp32>;
  static exec::cuda_options options() { return {.tf32 = true}; }
};

// A fixed fp16 loss scale (other precisions ignore it). Tests that compare two runs use it: at the
// dynamic default (65,536, halved on overflow) one run may overflow and skip a step where the
// other does not, and the comparison would fail for a reason that is not a defect. The dynamic
// scaler has a test of its own, with an injected overflow (ops.cpp).
inline exec::cuda_options fixed_loss_scale(double scale = 1024) {
  exec::cuda_options o;
  o.loss_scale = scale;
  o.dynamic_loss_scale = false;
  return o;
}

template <class P>
struct env {
  using policy = typename policy_of<P>::type;
  using T = typename policy::value_type;
  template <class U> using buffer = typename policy::template buffer<U>;

  policy dev;
  exec::eigen<double> cpu;

  explicit env(exec::cuda_options o = policy_of<P>::options()) : dev(o) {}

  template <class U>
  buffer<U> put(const std::vector<U>& h) {
    buffer<U> b = dev.template allocate<U>(h.size());
    dev.upload(b.data(), h.data(), h.size());
    return b;
  }
  buffer<T> act(const vec& v) { return put(to<T>(v)); }        // activations, rounded to T
  buffer<float> weights(const vec& v) { return put(to<float>(v)); }
  buffer<T> zeros(std::size_t n) { return dev.template allocate<T>(n); }

  template <class U>
  vec get(const buffer<U>& b) {
    std::vector<U> h(b.size());
    dev.download(h.data(), b.data(), h.size());
    return widen(h);
  }
};

}  // namespace cnnzoo::testing::gpu
