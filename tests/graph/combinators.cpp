// What each combinator computes, forward and backward, against the reference composed by hand:
// seq, sum, mean_join, residual (identity and projection shortcuts), concat (with an identity
// branch first or last), in float and double; the policy's elementwise and channel-block ops
// they are built on; and their compile-time shapes and sizes.
#include <catch2/catch.hpp>

#include <limits>
#include <vector>

#include "support/gradcheck.hpp"
#include "support/reference.hpp"

using namespace cnnzoo;
namespace ref = cnnzoo::testing::ref;
using testing::as_model;

namespace {

constexpr shape S{3, 5, 7};
constexpr int N = 2, HW = 35;
using conv3 = conv<conv_args{.out = 2, .kernel = 3}>;
const ref::conv_params conv3_params{N, 3, 5, 7, 2, 3, 3, 1, 1, 1, 1};

template <class T> constexpr double tol = sizeof(T) == 8 ? 1e-12 : 1e-5;

// Runs model M at batch N with random parameters and input, returns (y, dx) for a random dy.
template <class M, class T>
struct run {
  testing::probe<M, T> pr{N, 21, true};
  ref::vec y = pr.forward();
  ref::vec dy = pr.rounded(ref::random_vector(y.size(), 22));
  ref::vec dx = pr.backward(dy);
  ref::vec grads = pr.grads();
};

template <class T>
void check_sum() {
  run<as_model<sum<relu, sigmoid>, S>, T> r;
  const ref::vec& x = r.pr.x;
  CNNZOO_CHECK_CLOSE(r.y.data(), ref::add(ref::activation(ref::act::relu, x), ref::activation(ref::act::sigmoid, x)),
                     tol<T>, tol<T>);
  const ref::vec dx = ref::add(ref::activation_backward(ref::act::relu, x, r.dy),
                               ref::activation_backward(ref::act::sigmoid, x, r.dy));
  CNNZOO_CHECK_CLOSE(r.dx.data(), dx, tol<T>, tol<T>);
}

template <class T>
void check_sum_identity_first() {
  run<as_model<sum<identity, hard_swish>, S>, T> r;
  const ref::vec& x = r.pr.x;
  CNNZOO_CHECK_CLOSE(r.y.data(), ref::add(x, ref::activation(ref::act::hard_swish, x)), tol<T>, tol<T>);
  CNNZOO_CHECK_CLOSE(r.dx.data(), ref::add(r.dy, ref::activation_backward(ref::act::hard_swish, x, r.dy)), tol<T>,
                     tol<T>);
}

template <class T>
void check_mean_join() {
  run<as_model<mean_join<relu, sigmoid, identity>, S>, T> r;
  const ref::vec& x = r.pr.x;
  const ref::vec y = ref::scaled(
      ref::add(ref::add(ref::activation(ref::act::relu, x), ref::activation(ref::act::sigmoid, x)), x), 1.0 / 3);
  CNNZOO_CHECK_CLOSE(r.y.data(), y, tol<T>, tol<T>);
  const ref::vec d3 = ref::scaled(r.dy, 1.0 / 3);
  const ref::vec dx = ref::add(ref::add(ref::activation_backward(ref::act::relu, x, d3),
                                        ref::activation_backward(ref::act::sigmoid, x, d3)),
                               d3);
  CNNZOO_CHECK_CLOSE(r.dx.data(), dx, tol<T>, tol<T>);
}

template <class T>
void check_residual_identity() {
  run<as_model<residual<seq<conv<conv_args{.out = 3, .kernel = 3}>, relu>>, S>, T> r;
  const ref::vec& x = r.pr.x;
  ref::conv_params p = conv3_params;
  p.k = 3;
  const ref::vec w = r.pr.param(0), z = ref::conv2d(p, x, w, {});
  CNNZOO_CHECK_CLOSE(r.y.data(), ref::add(ref::activation(ref::act::relu, z), x), tol<T>, tol<T>);
  const ref::conv_grads g = ref::conv2d_backward(p, x, w, ref::activation_backward(ref::act::relu, z, r.dy));
  CNNZOO_CHECK_CLOSE(r.dx.data(), ref::add(g.dx, r.dy), tol<T>, tol<T>);
  CNNZOO_CHECK_CLOSE(r.grads.data(), g.dw, tol<T>, tol<T>);
}

template <class T>
void check_residual_projection() {
  using body = conv<conv_args{.out = 4, .kernel = 3, .stride = 2}>;
  using proj = conv<conv_args{.out = 4, .kernel = 1, .stride = 2, .bias = true}>;
  run<as_model<residual<body, proj>, S>, T> r;
  const ref::vec& x = r.pr.x;
  const ref::conv_params pb{N, 3, 5, 7, 4, 3, 3, 2, 2, 1, 1}, pp{N, 3, 5, 7, 4, 1, 1, 2, 2, 0, 0};
  const ref::vec wb = r.pr.param(0), wp = r.pr.param(1), bp = r.pr.param(2);
  CNNZOO_CHECK_CLOSE(r.y.data(), ref::add(ref::conv2d(pb, x, wb, {}), ref::conv2d(pp, x, wp, bp)), tol<T>, tol<T>);
  const ref::conv_grads gb = ref::conv2d_backward(pb, x, wb, r.dy), gp = ref::conv2d_backward(pp, x, wp, r.dy);
  CNNZOO_CHECK_CLOSE(r.dx.data(), ref::add(gb.dx, gp.dx), tol<T>, tol<T>);
  CNNZOO_CHECK_CLOSE(r.pr.slice(r.grads, 0).data(), gb.dw, tol<T>, tol<T>);
  CNNZOO_CHECK_CLOSE(r.pr.slice(r.grads, 1).data(), gp.dw, tol<T>, tol<T>);
  CNNZOO_CHECK_CLOSE(r.pr.slice(r.grads, 2).data(), gp.db, tol<T>, tol<T>);
}

// DenseNet's pattern: the input kept beside new channels.
template <class T>
void check_concat_identity_first() {
  run<as_model<concat<identity, relu, conv3>, S>, T> r;
  const ref::vec& x = r.pr.x;
  const ref::vec w = r.pr.param(0), a = ref::activation(ref::act::relu, x), z = ref::conv2d(conv3_params, x, w, {});
  CNNZOO_CHECK_CLOSE(r.y.data(), ref::concat_channels(N, HW, {{&x, 3}, {&a, 3}, {&z, 2}}), tol<T>, tol<T>);
  const ref::vec dy0 = ref::channel_slice(N, 8, HW, r.dy, 0, 3), dy1 = ref::channel_slice(N, 8, HW, r.dy, 3, 3),
                 dy2 = ref::channel_slice(N, 8, HW, r.dy, 6, 2);
  const ref::conv_grads g = ref::conv2d_backward(conv3_params, x, w, dy2);
  CNNZOO_CHECK_CLOSE(r.dx.data(), ref::add(ref::add(dy0, ref::activation_backward(ref::act::relu, x, dy1)), g.dx),
                     tol<T>, tol<T>);
  CNNZOO_CHECK_CLOSE(r.grads.data(), g.dw, tol<T>, tol<T>);
}

template <class T>
void check_concat_identity_last() {
  run<as_model<concat<conv3, identity>, S>, T> r;
  const ref::vec& x = r.pr.x;
  const ref::vec w = r.pr.param(0), z = ref::conv2d(conv3_params, x, w, {});
  CNNZOO_CHECK_CLOSE(r.y.data(), ref::concat_channels(N, HW, {{&z, 2}, {&x, 3}}), tol<T>, tol<T>);
  const ref::conv_grads g = ref::conv2d_backward(conv3_params, x, w, ref::channel_slice(N, 5, HW, r.dy, 0, 2));
  CNNZOO_CHECK_CLOSE(r.dx.data(), ref::add(g.dx, ref::channel_slice(N, 5, HW, r.dy, 2, 3)), tol<T>, tol<T>);
}

template <class T>
void check_seq() {
  using M = as_model<seq<conv<conv_args{.out = 4, .kernel = 3, .stride = 2, .bias = true}>, swish,
                         conv<conv_args{.out = 2, .kernel = 1}>, global_max_pool>,
                     S>;
  run<M, T> r;
  const ref::vec& x = r.pr.x;
  const ref::conv_params p1{N, 3, 5, 7, 4, 3, 3, 2, 2, 1, 1}, p2{N, 4, 3, 4, 2, 1, 1};
  const ref::vec w1 = r.pr.param(0), b1 = r.pr.param(1), w2 = r.pr.param(2);
  const ref::vec z1 = ref::conv2d(p1, x, w1, b1), a1 = ref::activation(ref::act::swish, z1), z2 = ref::conv2d(p2, a1, w2, {});
  CNNZOO_CHECK_CLOSE(r.y.data(), ref::global_pool(true, N, 2, 12, z2), tol<T>, tol<T>);
  const ref::vec dz2 = ref::global_pool_backward(true, N, 2, 12, z2, r.dy);
  const ref::conv_grads g2 = ref::conv2d_backward(p2, a1, w2, dz2);
  const ref::conv_grads g1 = ref::conv2d_backward(p1, x, w1, ref::activation_backward(ref::act::swish, z1, g2.dx));
  CNNZOO_CHECK_CLOSE(r.dx.data(), g1.dx, tol<T>, tol<T>);
  CNNZOO_CHECK_CLOSE(r.pr.slice(r.grads, 0).data(), g1.dw, tol<T>, tol<T>);
  CNNZOO_CHECK_CLOSE(r.pr.slice(r.grads, 1).data(), g1.db, tol<T>, tol<T>);
  CNNZOO_CHECK_CLOSE(r.pr.slice(r.grads, 2).data(), g2.dw, tol<T>, tol<T>);
}

template <class T>
void check_all() {
  SECTION("seq") { check_seq<T>(); }
  SECTION("sum") { check_sum<T>(); }
  SECTION("sum with the identity first") { check_sum_identity_first<T>(); }
  SECTION("mean_join") { check_mean_join<T>(); }
  SECTION("residual, identity shortcut") { check_residual_identity<T>(); }
  SECTION("residual, projection shortcut") { check_residual_projection<T>(); }
  SECTION("concat, identity first") { check_concat_identity_first<T>(); }
  SECTION("concat, identity last") { check_concat_identity_last<T>(); }
}

// Parameter gradients must not depend on whether the input gradient is asked for (a network's
// first part never gets one).
template <class M>
void check_grads_without_dx() {
  testing::probe<M, double> a(N, 5, true), b(N, 5, true);
  a.forward();
  b.forward();
  const ref::vec dy = ref::random_vector(static_cast<std::size_t>(N) * a.outputs, 6);
  a.backward(dy);
  const std::vector<double> d(dy.begin(), dy.end());
  b.net.backward(d.data(), N);
  CHECK(a.grads() == b.grads());
}

// A second forward and backward on the same data gives the same results: nothing accumulates
// into stale arena contents between steps.
template <class M>
void check_repeatable() {
  testing::probe<M, double> pr(N, 5, true);
  const ref::vec y1 = pr.forward();
  const ref::vec dy = ref::random_vector(y1.size(), 6);
  const ref::vec dx1 = pr.backward(dy), g1 = pr.grads();
  pr.upload(pr.net.state(), pr.state);   // training mode moved the running statistics
  const ref::vec y2 = pr.forward();
  const ref::vec dx2 = pr.backward(dy), g2 = pr.grads();
  CHECK(y1 == y2);
  CHECK(dx1 == dx2);
  CHECK(g1 == g2);
}

}  // namespace

// Shapes and sizes are compile-time facts.
using cat_t = bind_t<concat<identity, relu, conv3>, S>;
static_assert(cat_t::out == shape{8, 5, 7});
static_assert(cat_t::size.act == bind_t<relu, S>::size.act + bind_t<conv3, S>::size.act + 8 * 35 + S.size());
static_assert(cat_t::size.params == bind_t<conv3, S>::size.params);
using res_t = bind_t<residual<conv<conv_args{.out = 4, .kernel = 3, .stride = 2}>,
                              conv<conv_args{.out = 4, .kernel = 1, .stride = 2, .bias = true}>>, S>;
static_assert(res_t::out == shape{4, 3, 4});
static_assert(res_t::size.params == 4 * 3 * 9 + 4 * 3 + 4);
static_assert(res_t::flops == 2 * 48 * 27 + 2 * 48 * 3 + 48);
using mean_t = bind_t<mean_join<relu, sigmoid, identity>, S>;
static_assert(mean_t::out == S && mean_t::size.act == 2 * S.size() + S.size() + S.size());
static_assert(mean_t::flops == 2 * S.size() + 2 * S.size());
using seq_t = bind_t<seq<conv3, relu, global_avg_pool>, S>;
static_assert(seq_t::out == shape{2, 1, 1});
static_assert(seq_t::out_at == 2 * 35 + 2 * 35);
static_assert(bind_t<identity, S>::passthrough && bind_t<identity, S>::size == sizes{});

TEST_CASE("combinators compute their definitions in double", "[graph][combinators]") { check_all<double>(); }
TEST_CASE("combinators compute their definitions in float", "[graph][combinators]") { check_all<float>(); }

TEST_CASE("parameter gradients do not depend on whether dx is requested", "[graph][combinators]") {
  check_grads_without_dx<as_model<residual<seq<conv3, relu, conv<conv_args{.out = 3, .kernel = 1}>>>, S>>();
  check_grads_without_dx<as_model<concat<conv3, identity, seq<batch_norm, relu, conv3>>, S>>();
  check_grads_without_dx<as_model<mean_join<conv3, conv<conv_args{.out = 2, .kernel = 1, .bias = true}>>, S>>();
  check_grads_without_dx<as_model<sum<identity, seq<conv<conv_args{.out = 3, .kernel = 3}>, batch_norm>>, S>>();
}

TEST_CASE("a second pass over the same data gives the same results", "[graph][combinators]") {
  check_repeatable<as_model<concat<identity, seq<batch_norm, relu, conv3>, conv3>, S>>();
  check_repeatable<as_model<residual<seq<conv<conv_args{.out = 4, .kernel = 3, .stride = 2}>, batch_norm>,
                                     conv<conv_args{.out = 4, .kernel = 1, .stride = 2}>>, S>>();
  check_repeatable<as_model<mean_join<identity, relu, seq<conv<conv_args{.out = 3, .kernel = 1}>, batch_norm>>, S>>();
  check_repeatable<as_model<sum<relu, residual<seq<conv<conv_args{.out = 3, .kernel = 3}>, swish>>>, S>>();
}

TEST_CASE("policy elementwise and channel-block ops", "[graph][combinators]") {
  exec::eigen<double> p;
  std::vector<double> a{1, 2, 3, 4}, b{10, 20, 30, 40}, y(4, -1.0);
  p.add(4, a.data(), b.data(), y.data());
  CHECK(y == std::vector<double>{11, 22, 33, 44});
  p.axpby(4, 2.0, a.data(), 0.0, y.data());
  CHECK(y == std::vector<double>{2, 4, 6, 8});
  std::vector<double> nan_y(4, std::numeric_limits<double>::quiet_NaN());
  p.axpby(4, 1.0, a.data(), 0.0, nan_y.data());   // beta = 0 must not read y
  CHECK(nan_y == a);
  p.axpby(4, 1.0, a.data(), 3.0, y.data());
  CHECK(y == std::vector<double>{7, 14, 21, 28});
  p.multiply(4, a.data(), b.data(), y.data());
  CHECK(y == std::vector<double>{10, 40, 90, 160});
  p.fill(4, 2.5, y.data());
  CHECK(y == std::vector<double>(4, 2.5));
  p.copy(4, b.data(), y.data());
  CHECK(y == b);

  // Two images of a 2-channel, 2-pixel source into channels 1..2 of a 4-channel destination.
  std::vector<double> src{1, 2, 3, 4, 5, 6, 7, 8}, dst(16, 0.0);
  const ops::channel_copy into{2, 2, 2, 0, 4, 1, 2};
  p.copy_channels(into, src.data(), dst.data(), false);
  CHECK(dst == std::vector<double>{0, 0, 1, 2, 3, 4, 0, 0, 0, 0, 5, 6, 7, 8, 0, 0});
  p.copy_channels(into, src.data(), dst.data(), true);
  CHECK(dst == std::vector<double>{0, 0, 2, 4, 6, 8, 0, 0, 0, 0, 10, 12, 14, 16, 0, 0});
  // And back out of it.
  std::vector<double> back(8, -1.0);
  p.copy_channels(ops::channel_copy{2, 2, 4, 1, 2, 0, 2}, dst.data(), back.data(), false);
  CHECK(back == std::vector<double>{2, 4, 6, 8, 10, 12, 14, 16});
}
