#pragma once
// Deterministic random numbers that mean the same thing on every platform and policy.
//
// The standard library's distributions are implementation-defined, so a run seeded on one
// machine would draw different numbers on another; a checkpoint must also be able to save and
// restore the generator exactly. cnnzoo therefore owns its generator (xoshiro256**, seeded by
// splitmix64) and its distributions. `hash_uniform` is counter-based: the CPU and GPU policies
// draw identical dropout masks from the same (seed, index), which is what makes their outputs
// comparable in parity tests.
#include <array>
#include <cmath>
#include <cstdint>

// Functions that CUDA device code calls too (dropout masks): __host__ __device__ under nvcc,
// nothing for a host compiler.
#ifndef CNNZOO_HD
#if defined(__CUDACC__)
#define CNNZOO_HD __host__ __device__
#else
#define CNNZOO_HD
#endif
#endif

namespace cnnzoo {

// splitmix64 finaliser: a good 64-bit mix of one value.
CNNZOO_HD constexpr std::uint64_t mix64(std::uint64_t z) noexcept {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// A uniform float in [0, 1) that depends only on (seed, index): counter-based, stateless.
CNNZOO_HD constexpr float hash_uniform(std::uint64_t seed, std::uint64_t index) noexcept {
  return static_cast<float>(mix64(seed ^ mix64(index)) >> 40) * 0x1.0p-24f;
}

class rng {
public:
  using result_type = std::uint64_t;
  static constexpr result_type min() noexcept { return 0; }
  static constexpr result_type max() noexcept { return ~result_type{0}; }

  explicit rng(std::uint64_t seed = 0) noexcept { reseed(seed); }

  void reseed(std::uint64_t seed) noexcept {
    for (auto& word : s_) { seed += 0x9E3779B97F4A7C15ull; word = mix64(seed); }
  }

  result_type operator()() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0]; s_[3] ^= s_[1]; s_[1] ^= s_[2]; s_[0] ^= s_[3];
    s_[2] ^= t; s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, 1) with 53 random bits.
  double uniform() noexcept { return static_cast<double>((*this)() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) noexcept { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [0, n); n > 0. The tiny modulo bias (n << 2^64) is irrelevant here.
  std::uint64_t below(std::uint64_t n) noexcept { return (*this)() % n; }
  bool bernoulli(double p) noexcept { return uniform() < p; }

  // Standard normal by Box-Muller (no cached second value, so the state is just s_).
  double normal() noexcept {
    constexpr double two_pi = 6.283185307179586476925286766559;
    double u1 = uniform();
    while (u1 <= 0.0) u1 = uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(two_pi * u2);
  }

  // Normal truncated to two standard deviations, resampled (Keras' truncated_normal).
  double truncated_normal() noexcept {
    for (;;) {
      const double z = normal();
      if (z > -2.0 && z < 2.0) return z;
    }
  }

  // Gamma(shape, 1) by Marsaglia-Tsang; used for Beta draws in mixup.
  double gamma(double shape) noexcept {
    if (shape < 1.0) return gamma(shape + 1.0) * std::pow(uniform_open(), 1.0 / shape);
    const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
    for (;;) {
      double x, v;
      do { x = normal(); v = 1.0 + c * x; } while (v <= 0.0);
      v = v * v * v;
      const double u = uniform_open();
      if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
      if (std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v;
    }
  }
  double beta(double a, double b) noexcept {
    const double x = gamma(a), y = gamma(b);
    return x / (x + y);
  }

  // The whole state, for checkpoints.
  std::array<std::uint64_t, 4> state() const noexcept { return s_; }
  void set_state(const std::array<std::uint64_t, 4>& s) noexcept { s_ = s; }
  friend bool operator==(const rng&, const rng&) = default;

private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  double uniform_open() noexcept {
    double u = uniform();
    while (u <= 0.0) u = uniform();
    return u;
  }
  std::array<std::uint64_t, 4> s_{};
};

}  // namespace cnnzoo
