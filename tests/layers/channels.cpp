// channel_slice, zero_pad_channels, channel_shuffle: forward against naive index formulas in
// double, the shuffle's per-pixel correctness after a strided layer, and input gradients by
// finite differences.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include <cnnzoo/cnnzoo.hpp>
#include <cnnzoo/exec/eigen.hpp>
#include <cnnzoo/layers/channels.hpp>

#include "support/gradcheck.hpp"

using namespace cnnzoo;

namespace {

// Runs layer L on n random images of shape In; returns (input, output) in NCHW order.
template <class L, shape In>
std::pair<std::vector<double>, std::vector<double>> run(int n, std::uint64_t seed = 7) {
  using M = testing::as_model<L, In>;
  using net_t = network<M, exec::eigen<double>>;
  net_t net(n, 1);
  rng g(seed);
  std::vector<double> x(static_cast<std::size_t>(n) * In.size());
  for (double& v : x) v = g.normal();
  std::copy(x.begin(), x.end(), net.input());
  const double* z = net.forward(n);
  return {x, std::vector<double>(z, z + static_cast<std::size_t>(n) * net_t::classes)};
}

template <int Offset, int Count, shape In>
void check_slice(int n) {
  const auto [x, y] = run<channel_slice<Offset, Count>, In>(n);
  const int hw = In.h * In.w;
  REQUIRE(y.size() == static_cast<std::size_t>(n * Count * hw));
  for (int i = 0; i < n; ++i)
    for (int c = 0; c < Count; ++c)
      for (int p = 0; p < hw; ++p)
        REQUIRE(y[static_cast<std::size_t>((i * Count + c) * hw + p)] ==
                x[static_cast<std::size_t>((i * In.c + Offset + c) * hw + p)]);
}

template <int Out, shape In>
void check_pad(int n) {
  const auto [x, y] = run<zero_pad_channels<Out>, In>(n);
  const int hw = In.h * In.w;
  REQUIRE(y.size() == static_cast<std::size_t>(n * Out * hw));
  for (int i = 0; i < n; ++i)
    for (int c = 0; c < Out; ++c)
      for (int p = 0; p < hw; ++p)
        REQUIRE(y[static_cast<std::size_t>((i * Out + c) * hw + p)] ==
                (c < In.c ? x[static_cast<std::size_t>((i * In.c + c) * hw + p)] : 0.0));
}

// The reference shuffle: reshape channels to (G, C/G), transpose, flatten (per pixel).
template <int G, shape In>
void check_shuffle(int n) {
  const auto [x, y] = run<channel_shuffle<G>, In>(n);
  const int hw = In.h * In.w, per = In.c / G;
  for (int i = 0; i < n; ++i)
    for (int g = 0; g < G; ++g)
      for (int j = 0; j < per; ++j)
        for (int p = 0; p < hw; ++p)
          REQUIRE(y[static_cast<std::size_t>((i * In.c + j * G + g) * hw + p)] ==
                  x[static_cast<std::size_t>((i * In.c + g * per + j) * hw + p)]);
}

}  // namespace

static_assert(output_shape<testing::as_model<channel_slice<2, 3>, shape{6, 2, 2}>> == shape{12, 1, 1});
static_assert(bind_t<zero_pad_channels<10>, shape{4, 3, 3}>::out == shape{10, 3, 3});
static_assert(bind_t<channel_shuffle<2>, shape{6, 3, 3}>::out == shape{6, 3, 3});
static_assert(trainable_params<testing::as_model<channel_shuffle<3>, shape{6, 3, 3}>> == 0);

TEST_CASE("channel_slice takes channels [Offset, Offset + Count)", "[layers][channels]") {
  check_slice<0, 3, shape{6, 3, 4}>(2);
  check_slice<3, 3, shape{6, 3, 4}>(2);
  check_slice<1, 4, shape{7, 2, 5}>(3);
  check_slice<0, 5, shape{5, 2, 2}>(1);
}

TEST_CASE("zero_pad_channels appends zero channels", "[layers][channels]") {
  check_pad<10, shape{4, 3, 3}>(2);
  check_pad<4, shape{4, 3, 3}>(2);
  check_pad<9, shape{1, 5, 2}>(3);
}

TEST_CASE("channel_shuffle transposes (groups, channels / groups) at every pixel", "[layers][channels]") {
  check_shuffle<2, shape{6, 3, 5}>(2);
  check_shuffle<3, shape{12, 2, 2}>(3);
  check_shuffle<4, shape{4, 1, 1}>(2);
  // A concrete permutation: with 2 groups of 3, output channels are inputs 0, 3, 1, 4, 2, 5.
  const auto [x, y] = run<channel_shuffle<2>, shape{6, 1, 1}>(1);
  const int expect[6] = {0, 3, 1, 4, 2, 5};
  for (int c = 0; c < 6; ++c) CHECK(y[static_cast<std::size_t>(c)] == x[static_cast<std::size_t>(expect[c])]);
}

TEST_CASE("channel_shuffle permutes channels per pixel after a stride-2 layer", "[layers][channels]") {
  // The seed's reshape used the pre-stride height and width here; the shuffled output must be
  // exactly the strided output with its channels permuted.
  using strided = conv<conv_args{.out = 6, .kernel = 3, .stride = 2, .bias = true}>;
  using plain_model = testing::as_model<strided, shape{3, 9, 9}>;
  using shuffled_model = testing::as_model<seq<strided, channel_shuffle<2>>, shape{3, 9, 9}>;
  const int n = 3;
  network<plain_model, exec::eigen<double>> a(n, 4);
  network<shuffled_model, exec::eigen<double>> b(n, 4);
  STATIC_REQUIRE(decltype(a)::param_count() == decltype(b)::param_count());
  std::copy_n(a.params(), decltype(a)::param_count(), b.params());
  rng g(3);
  for (std::size_t i = 0; i < n * shape{3, 9, 9}.size(); ++i) a.input()[i] = b.input()[i] = g.normal();
  const double* ya = a.forward(n);
  const double* yb = b.forward(n);
  const int hw = 5 * 5;
  for (int i = 0; i < n; ++i)
    for (int c = 0; c < 6; ++c)
      for (int p = 0; p < hw; ++p)
        REQUIRE(yb[((i * 6) + (c % 3) * 2 + c / 3) * hw + p] == ya[(i * 6 + c) * hw + p]);
}

TEST_CASE("channel layers' input gradients match finite differences", "[layers][channels][gradcheck]") {
  using slice_mid = testing::as_model<channel_slice<2, 3>, shape{7, 3, 2}>;
  using slice_all = testing::as_model<channel_slice<0, 4>, shape{4, 2, 2}>;
  using pad = testing::as_model<zero_pad_channels<9>, shape{4, 3, 2}>;
  using shuffle2 = testing::as_model<channel_shuffle<2>, shape{8, 2, 3}>;
  using shuffle3 = testing::as_model<channel_shuffle<3>, shape{6, 2, 2}>;
  CNNZOO_CHECK_GRADIENTS(slice_mid, {.batch = 2});
  CNNZOO_CHECK_GRADIENTS(slice_all, {.batch = 2});
  CNNZOO_CHECK_GRADIENTS(pad, {.batch = 2});
  CNNZOO_CHECK_GRADIENTS(shuffle2, {.batch = 2});
  CNNZOO_CHECK_GRADIENTS(shuffle3, {.batch = 3});
}
