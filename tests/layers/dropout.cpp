// Inverted dropout: in training a value is kept with probability 1 - rate and scaled by
// 1 / (1 - rate), else zeroed; in inference it is the identity; run_options::dropout overrides
// the rate. Masks depend only on (seed, position), so they repeat when the generator is reseeded
// and are the same in float and double.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "support/gradcheck.hpp"
#include "support/reference.hpp"

using namespace cnnzoo;
namespace ref = cnnzoo::testing::ref;

namespace {

template <class T>
void check_op(float rate) {
  const std::size_t count = 100'000;
  const std::vector<T> x = ref::cast<T>(ref::random_vector(count, 1));
  std::vector<T> mask(count), y(count);
  exec::eigen<T> pol;
  pol.dropout_forward(count, rate, 12345, x.data(), mask.data(), y.data());
  const T scale = T(1) / (T(1) - static_cast<T>(rate));
  std::size_t kept = 0;
  bool only_two_values = true, product = true;
  for (std::size_t i = 0; i < count; ++i) {
    if (mask[i] == scale) ++kept;
    else if (mask[i] != T(0)) only_two_values = false;
    if (y[i] != x[i] * mask[i]) product = false;
  }
  CHECK(only_two_values);
  CHECK(product);
  // Binomial(100000, 1 - rate): its standard deviation is at most 0.0016 of the count.
  CHECK(static_cast<double>(kept) / count == Approx(1.0 - rate).margin(0.01));

  // Same key, same mask; another key, another mask.
  std::vector<T> mask2(count), y2(count);
  pol.dropout_forward(count, rate, 12345, x.data(), mask2.data(), y2.data());
  CHECK(mask2 == mask);
  pol.dropout_forward(count, rate, 54321, x.data(), mask2.data(), y2.data());
  if (rate > 0) CHECK(mask2 != mask);

  // Backward is the product with the saved mask.
  const std::vector<T> dy = ref::cast<T>(ref::random_vector(count, 2));
  std::vector<T> dx(count);
  pol.multiply(count, dy.data(), mask.data(), dx.data());
  for (std::size_t i = 0; i < count; i += 997) CHECK(dx[i] == dy[i] * mask[i]);
}

// A dropout layer, as a model, in a float or double network.
template <class T, double Rate = 0.25>
struct dropout_net {
  using M = testing::as_model<dropout<Rate>, shape{4, 8, 8}>;
  testing::probe<M, T> pr{4, 3, true};
  ref::vec forward(std::uint64_t seed) {
    pr.net.generator().reseed(seed);
    return pr.forward();
  }
};

using drop4 = testing::as_model<dropout<0.25>, shape{4, 8, 8}>;
using drop_half = testing::as_model<dropout<0.5>, shape{3, 5, 5}>;
// Two dropout layers that see the same input: their masks must differ.
using twin = testing::as_model<concat<dropout<0.5>, dropout<0.5>>, shape{2, 8, 8}>;

}  // namespace

TEST_CASE("dropout op: mask values, kept fraction, repeatability", "[layers][dropout]") {
  SECTION("double, rate 0.3") { check_op<double>(0.3f); }
  SECTION("float, rate 0.3") { check_op<float>(0.3f); }
  SECTION("float, rate 0.5") { check_op<float>(0.5f); }
  SECTION("double, rate 0.05") { check_op<double>(0.05f); }
  SECTION("double, rate 0 keeps everything") { check_op<double>(0.0f); }
}

TEST_CASE("dropout op draws the same mask in float and double", "[layers][dropout]") {
  const std::size_t count = 4096;
  std::vector<float> xf(count, 1.0f), mf(count), yf(count);
  std::vector<double> xd(count, 1.0), md(count), yd(count);
  exec::eigen<float>{}.dropout_forward(count, 0.4f, 99, xf.data(), mf.data(), yf.data());
  exec::eigen<double>{}.dropout_forward(count, 0.4f, 99, xd.data(), md.data(), yd.data());
  bool same_mask = true;
  for (std::size_t i = 0; i < count; ++i) same_mask &= (mf[i] == 0) == (md[i] == 0);
  CHECK(same_mask);
}

TEST_CASE("dropout layer in training: inverted scaling, fraction kept, backward uses the mask",
          "[layers][dropout]") {
  dropout_net<double> d;
  const ref::vec y = d.forward(7);
  std::size_t kept = 0;
  bool values_ok = true;
  for (std::size_t i = 0; i < y.size(); ++i) {
    if (y[i] == 0) continue;
    ++kept;
    if (std::abs(y[i] - d.pr.x[i] / 0.75) > 1e-12) values_ok = false;
  }
  CHECK(values_ok);
  CHECK(static_cast<double>(kept) / y.size() == Approx(0.75).margin(0.05));   // 1024 values
  const ref::vec dy = ref::random_vector(y.size(), 8);
  const ref::vec dx = d.pr.backward(dy);
  bool backward_ok = true;
  for (std::size_t i = 0; i < y.size(); ++i)
    backward_ok &= std::abs(dx[i] - (y[i] == 0 ? 0.0 : dy[i] / 0.75)) < 1e-15;
  CHECK(backward_ok);
}

TEST_CASE("dropout masks repeat when the generator is reseeded and change otherwise", "[layers][dropout]") {
  dropout_net<float> d;
  const ref::vec a = d.forward(7), b = d.forward(7), c = d.forward(8);
  CHECK(a == b);
  CHECK(a != c);
  const ref::vec e = d.pr.forward(), f = d.pr.forward();   // the generator moves on between steps
  CHECK(e != f);
  // The float and double networks draw the same mask from the same seed.
  dropout_net<double> dd;
  const ref::vec g = dd.forward(7);
  bool same_mask = true;
  for (std::size_t i = 0; i < a.size(); ++i) same_mask &= (a[i] == 0) == (g[i] == 0);
  CHECK(same_mask);
}

TEST_CASE("dropout layers at different places draw different masks", "[layers][dropout]") {
  testing::probe<twin, double> pr(2, 3, true);
  const ref::vec y = pr.forward();
  const std::size_t half = 2 * 8 * 8;
  std::size_t differ = 0;
  for (int i = 0; i < 2; ++i)
    for (std::size_t j = 0; j < half; ++j)
      differ += (y[i * 2 * half + j] == 0) != (y[i * 2 * half + half + j] == 0);
  CHECK(differ > half / 4);   // independent masks at 0.5 differ in about half the places
}

TEST_CASE("dropout layer in inference is the identity", "[layers][dropout]") {
  dropout_net<double> d;
  d.pr.net.set_training(false);
  const ref::vec y = d.forward(7);
  CHECK(y == d.pr.x);
  const ref::vec dy = ref::random_vector(y.size(), 8);
  CHECK(d.pr.backward(dy) == dy);
}

TEST_CASE("run_options::dropout overrides the layer's rate", "[layers][dropout]") {
  dropout_net<double> d;
  SECTION("0 turns dropout off in training") {
    d.pr.net.options().dropout = 0.0f;
    CHECK(d.forward(7) == d.pr.x);
  }
  SECTION("0.5 replaces 0.25: scale 2, half kept") {
    d.pr.net.options().dropout = 0.5f;
    const ref::vec y = d.forward(7);
    std::size_t kept = 0;
    bool scaled_by_two = true;
    for (std::size_t i = 0; i < y.size(); ++i)
      if (y[i] != 0) {
        ++kept;
        scaled_by_two &= y[i] == 2 * d.pr.x[i];
      }
    CHECK(scaled_by_two);
    CHECK(static_cast<double>(kept) / y.size() == Approx(0.5).margin(0.05));
  }
  SECTION("a negative value restores the layer's own rate") {
    d.pr.net.options().dropout = -1.0f;
    const ref::vec y = d.forward(7);
    bool scaled = true;
    for (std::size_t i = 0; i < y.size(); ++i)
      if (y[i] != 0) scaled &= std::abs(y[i] - d.pr.x[i] / 0.75) < 1e-12;
    CHECK(scaled);
  }
}

TEST_CASE("dropout gradients match finite differences", "[layers][dropout][gradcheck]") {
  CNNZOO_CHECK_GRADIENTS(drop4, {.batch = 2, .training = true});
  CNNZOO_CHECK_GRADIENTS(drop4, {.batch = 2, .training = false});
  CNNZOO_CHECK_GRADIENTS(drop_half, {.batch = 3, .training = true});
  CNNZOO_CHECK_GRADIENTS(twin, {.batch = 2, .training = true});
}
