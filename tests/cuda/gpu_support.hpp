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

template <class P>
struct env {
  using policy = exec::cuda<P>;
  using T = typename policy::value_type;
  template <class U> using buffer = typename policy::template buffer<U>;

  policy dev;
  exec::eigen<double> cpu;

  explicit env(exec::cuda_options o = {}) : dev(o) {}

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
