#pragma once
// Helpers of the CUDA tests: random data, rounding to a policy's element type, and the relative
// L2 error that the parity tolerances are stated in.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <cnnzoo/core/rng.hpp>

namespace cnnzoo::testing::gpu {

using vec = std::vector<double>;

inline vec random_vector(std::size_t count, std::uint64_t seed, double scale = 1.0, double offset = 0.0) {
  rng g(seed);
  vec v(count);
  for (double& x : v) x = offset + scale * g.normal();
  return v;
}

// The values as a U (float, __nv_bfloat16, __half, double) holds them.
template <class U>
std::vector<U> to(const vec& v) {
  std::vector<U> out;
  out.reserve(v.size());
  for (double x : v) out.push_back(U(static_cast<float>(x)));
  return out;
}
template <>
inline std::vector<double> to<double>(const vec& v) { return v; }

template <class U>
vec widen(const std::vector<U>& v) {
  vec out;
  out.reserve(v.size());
  for (const U& x : v) out.push_back(static_cast<double>(static_cast<float>(x)));
  return out;
}
inline vec widen(const std::vector<double>& v) { return v; }

// v rounded through U and back: what the reference computes on so that both sides start equal.
template <class U>
vec rounded(const vec& v) { return widen(to<U>(v)); }

// ||a - e|| / max(||e||, tiny); NaN anywhere gives infinity.
inline double rel_error(const vec& a, const vec& e) {
  REQUIRE(a.size() == e.size());
  double num = 0, den = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(a[i])) return INFINITY;
    num += (a[i] - e[i]) * (a[i] - e[i]);
    den += e[i] * e[i];
  }
  return std::sqrt(num) / std::max(std::sqrt(den), 1e-30);
}

inline double max_abs_diff(const vec& a, const vec& e) {
  REQUIRE(a.size() == e.size());
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - e[i]));
  return m;
}

// With CNNZOO_PARITY_LOG=file set, every checked error is appended to it as
// "test case <TAB> what <TAB> error <TAB> tolerance", so a GPU run calibrates the tolerances
// (scripts/gpu-check.sh prints the closest calls).
inline void record(const std::string& what, double err, double tol) {
  static const char* path = std::getenv("CNNZOO_PARITY_LOG");
  if (!path || !*path) return;
  if (std::FILE* f = std::fopen(path, "a")) {
    std::fprintf(f, "%s\t%s\t%.3e\t%.3e\n", Catch::getResultCapture().getCurrentTestName().c_str(), what.c_str(), err,
                 tol);
    std::fclose(f);
  }
}

}  // namespace cnnzoo::testing::gpu

// Checks a relative error and shows the numbers either way, so the GPU log calibrates tolerances.
#define CNNZOO_CHECK_REL(what, actual, expected, tol)                                                  \
  do {                                                                                                 \
    const double cnnzoo_err_ = ::cnnzoo::testing::gpu::rel_error((actual), (expected));                \
    ::cnnzoo::testing::gpu::record(what, cnnzoo_err_, (tol));                                          \
    INFO(std::string(what) << ": relative L2 error " << cnnzoo_err_ << " (tolerance " << (tol) << ")"); \
    CHECK(cnnzoo_err_ <= (tol));                                                                       \
  } while (0)
