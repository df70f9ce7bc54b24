// cnnzoo's own generator and distributions: determinism from a seed, an exact state round trip
// (checkpoints rely on it), the ranges and first moments of each distribution, and the
// counter-based hash_uniform that keys dropout masks.
#include <catch2/catch.hpp>

#include <cmath>
#include <set>
#include <vector>

#include <cnnzoo/core/rng.hpp>

using namespace cnnzoo;

namespace {
std::vector<std::uint64_t> draws(rng& g, int count) {
  std::vector<std::uint64_t> v;
  for (int i = 0; i < count; ++i) v.push_back(g());
  return v;
}
}  // namespace

// Usable at compile time, and fixed across platforms: these values are part of the format of
// every dropout mask, so a change here is a change of results.
static_assert(hash_uniform(1, 2) == hash_uniform(1, 2));
static_assert(hash_uniform(1, 2) != hash_uniform(2, 2) && hash_uniform(1, 2) != hash_uniform(1, 3));
static_assert(mix64(0) == 0xE220A8397B1DCDAFull);

TEST_CASE("rng: same seed, same sequence; another seed, another sequence", "[core][rng]") {
  rng a(123), b(123), c(124);
  const auto da = draws(a, 1000), db = draws(b, 1000), dc = draws(c, 1000);
  CHECK(da == db);
  CHECK(da != dc);
  CHECK(std::set<std::uint64_t>(da.begin(), da.end()).size() == da.size());
  // reseed starts the sequence over.
  a.reseed(123);
  CHECK(draws(a, 1000) == da);
  CHECK(rng(0)() != rng(1)());   // seed 0 is not degenerate
}

TEST_CASE("rng: the state round trip continues the sequence exactly", "[core][rng]") {
  rng a(7);
  draws(a, 37);
  a.normal();   // Box-Muller keeps no cached value, so state() is everything
  const auto saved = a.state();
  const auto next = draws(a, 100);
  rng b(999);
  b.set_state(saved);
  CHECK(draws(b, 100) == next);
  CHECK(a == b);
  b.set_state(saved);
  rng c(999);
  c.set_state(saved);
  CHECK(b.uniform() == c.uniform());
  CHECK(b.normal() == c.normal());
  CHECK(b.beta(0.4, 0.4) == c.beta(0.4, 0.4));
}

TEST_CASE("rng: distributions have the right range and moments", "[core][rng]") {
  rng g(2024);
  const int count = 200'000;
  double su = 0, sn = 0, sn2 = 0, st = 0, st2 = 0, sb = 0;
  std::uint64_t hist[7] = {};
  int bern = 0;
  bool uniform_in_range = true, below_in_range = true, truncated_in_range = true, beta_in_range = true;
  for (int i = 0; i < count; ++i) {
    const double u = g.uniform();
    uniform_in_range &= u >= 0 && u < 1;
    su += u;
    const double z = g.normal();
    sn += z;
    sn2 += z * z;
    const double t = g.truncated_normal();
    truncated_in_range &= t > -2 && t < 2;
    st += t;
    st2 += t * t;
    const std::uint64_t k = g.below(7);
    below_in_range &= k < 7;
    if (k < 7) ++hist[k];
    bern += g.bernoulli(0.3);
    if (i % 10 == 0) {
      const double b = g.beta(2.0, 5.0);
      beta_in_range &= b > 0 && b < 1;
      sb += b;
    }
  }
  CHECK(uniform_in_range);
  CHECK(below_in_range);
  CHECK(truncated_in_range);
  CHECK(beta_in_range);
  CHECK(su / count == Approx(0.5).margin(0.005));
  CHECK(sn / count == Approx(0.0).margin(0.01));
  CHECK(sn2 / count == Approx(1.0).margin(0.015));
  CHECK(st / count == Approx(0.0).margin(0.01));
  // Variance of N(0, 1) truncated to (-2, 2): 1 - 4 phi(2) / (2 Phi(2) - 1) = 0.7737.
  CHECK(st2 / count == Approx(0.7737).margin(0.01));
  for (std::uint64_t h : hist) CHECK(static_cast<double>(h) / count == Approx(1.0 / 7).margin(0.005));
  CHECK(static_cast<double>(bern) / count == Approx(0.3).margin(0.005));
  CHECK(sb / (count / 10) == Approx(2.0 / 7).margin(0.01));   // Beta(a, b) mean a / (a + b)
  CHECK(g.uniform(3.0, 5.0) >= 3.0);
}

TEST_CASE("rng: gamma below shape 1 (mixup's Beta(0.2, 0.2)) stays positive and finite", "[core][rng]") {
  rng g(5);
  double sum = 0;
  bool ok = true;
  const int count = 50'000;
  for (int i = 0; i < count; ++i) {
    const double x = g.gamma(0.2);
    ok &= x >= 0 && std::isfinite(x);
    sum += x;
  }
  CHECK(ok);
  CHECK(sum / count == Approx(0.2).margin(0.01));   // Gamma(k, 1) mean k
}

TEST_CASE("hash_uniform: range, spread, independence of neighbouring indices", "[core][rng]") {
  const int count = 1 << 18;
  double sum = 0, lag = 0, prev = hash_uniform(99, 0);
  int bins[16] = {};
  bool in_range = true;
  for (int i = 0; i < count; ++i) {
    const float u = hash_uniform(99, static_cast<std::uint64_t>(i));
    in_range &= u >= 0.0f && u < 1.0f;
    sum += u;
    ++bins[static_cast<int>(u * 16)];
    if (i > 0) lag += (u - 0.5) * (prev - 0.5);
    prev = u;
  }
  CHECK(in_range);
  CHECK(sum / count == Approx(0.5).margin(0.003));
  for (int b : bins) CHECK(static_cast<double>(b) / count == Approx(1.0 / 16).margin(0.003));
  CHECK(std::abs(lag / count) < 0.002);   // no correlation between consecutive indices
  // The largest value it can return is below 1 (24 bits: at most 1 - 2^-24).
  CHECK(static_cast<float>(0xFFFFFFull) * 0x1.0p-24f < 1.0f);
  // Stateless: the same (seed, index) gives the same value in any order.
  CHECK(hash_uniform(5, 1000) == hash_uniform(5, 1000));
}
