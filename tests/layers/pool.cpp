// Max and average pooling (window and global) on the Eigen policy against the reference, as
// layers inside a network, and their gradients against finite differences. Average pooling
// divides by the number of in-image pixels under the window, never counting the padding.
#include <catch2/catch.hpp>

#include <limits>
#include <vector>

#include "support/gradcheck.hpp"
#include "support/reference.hpp"

using namespace cnnzoo;
namespace ref = cnnzoo::testing::ref;

namespace {

struct pool_case {
  const char* name;
  int n, c, h, w, size, stride;
  bool same;
};

const pool_case cases[] = {
    {"2/2 valid, 8x6", 2, 3, 8, 6, 2, 2, false},
    {"2/2 valid, odd 7x9 (last row and column dropped)", 2, 3, 7, 9, 2, 2, false},
    {"3/1 same, 7x9", 2, 2, 7, 9, 3, 1, true},
    {"3/2 same, 7x9", 2, 3, 7, 9, 3, 2, true},
    {"3/2 same, 8x8", 1, 2, 8, 8, 3, 2, true},
    {"3/2 valid, 7x9", 2, 2, 7, 9, 3, 2, false},
    {"5/1 same, 5x5 (windows mostly padding)", 2, 2, 5, 5, 5, 1, true},
    {"3/3 valid, 9x9", 2, 2, 9, 9, 3, 3, false},
};

ref::pool_params params_of(const pool_case& t) {
  return {t.n, t.c, t.h, t.w, t.size, t.stride, t.same ? (t.size - 1) / 2 : 0};
}

template <class T>
void check_case(const pool_case& t, bool max) {
  const ref::pool_params p = params_of(t);
  const ops::pool_geometry g{p.n, p.c, p.h, p.w, p.size, p.size, p.stride, p.stride, p.pad, p.pad, p.out_h(), p.out_w()};
  const std::size_t in = static_cast<std::size_t>(p.n) * p.c * p.h * p.w;
  const std::size_t out = static_cast<std::size_t>(p.n) * p.c * p.out_h() * p.out_w();
  const std::vector<T> x = ref::cast<T>(ref::random_vector(in, 1)), dy = ref::cast<T>(ref::random_vector(out, 2));
  const ref::vec xd(x.begin(), x.end()), dyd(dy.begin(), dy.end());
  const double tol = sizeof(T) == 8 ? 1e-14 : 1e-6;
  const ops::pool_kind kind = max ? ops::pool_kind::max : ops::pool_kind::avg;
  exec::eigen<T> pol;
  std::vector<T> y(out, std::numeric_limits<T>::quiet_NaN()), dx(in, std::numeric_limits<T>::quiet_NaN());
  pol.pool_forward(kind, g, x.data(), y.data());
  CNNZOO_CHECK_CLOSE(y.data(), ref::pool(max, p, xd), tol, tol);
  pol.pool_backward(kind, g, x.data(), dy.data(), dx.data());
  CNNZOO_CHECK_CLOSE(dx.data(), ref::pool_backward(max, p, xd, dyd), tol, tol);
}

template <class T>
void check_global(bool max, int n, int c, int hw) {
  const std::size_t in = static_cast<std::size_t>(n) * c * hw, out = static_cast<std::size_t>(n) * c;
  const std::vector<T> x = ref::cast<T>(ref::random_vector(in, 3)), dy = ref::cast<T>(ref::random_vector(out, 4));
  const ref::vec xd(x.begin(), x.end()), dyd(dy.begin(), dy.end());
  const double tol = sizeof(T) == 8 ? 1e-14 : 1e-6;
  const ops::pool_kind kind = max ? ops::pool_kind::max : ops::pool_kind::avg;
  exec::eigen<T> pol;
  std::vector<T> y(out, std::numeric_limits<T>::quiet_NaN()), dx(in, std::numeric_limits<T>::quiet_NaN());
  pol.global_pool_forward(kind, n, c, hw, x.data(), y.data());
  CNNZOO_CHECK_CLOSE(y.data(), ref::global_pool(max, n, c, hw, xd), tol, tol);
  pol.global_pool_backward(kind, n, c, hw, x.data(), dy.data(), dx.data());
  CNNZOO_CHECK_CLOSE(dx.data(), ref::global_pool_backward(max, n, c, hw, xd, dyd), tol, tol);
}

// The layer inside a network: its padding and output shape come from its template arguments.
template <class L, shape In, class T>
void check_layer(bool max, int size, int stride, bool same) {
  using B = bind_t<L, In>;
  const ref::pool_params p{2, In.c, In.h, In.w, size, stride, same ? (size - 1) / 2 : 0};
  REQUIRE(B::out == shape{In.c, p.out_h(), p.out_w()});
  testing::probe<testing::as_model<L, In>, T> pr(2, 9, true);
  const double tol = sizeof(T) == 8 ? 1e-14 : 1e-6;
  const ref::vec y = pr.forward();
  CNNZOO_CHECK_CLOSE(y.data(), ref::pool(max, p, pr.x), tol, tol);
  const ref::vec dy = pr.rounded(ref::random_vector(y.size(), 10));
  const ref::vec dx = pr.backward(dy);
  CNNZOO_CHECK_CLOSE(dx.data(), ref::pool_backward(max, p, pr.x, dy), tol, tol);
}

template <class L, shape In, class T>
void check_global_layer(bool max) {
  STATIC_REQUIRE(bind_t<L, In>::out == shape{In.c, 1, 1});
  testing::probe<testing::as_model<L, In>, T> pr(3, 9, true);
  const double tol = sizeof(T) == 8 ? 1e-14 : 1e-6;
  const int hw = In.h * In.w;
  const ref::vec y = pr.forward();
  CNNZOO_CHECK_CLOSE(y.data(), ref::global_pool(max, 3, In.c, hw, pr.x), tol, tol);
  const ref::vec dy = pr.rounded(ref::random_vector(y.size(), 10));
  const ref::vec dx = pr.backward(dy);
  CNNZOO_CHECK_CLOSE(dx.data(), ref::global_pool_backward(max, 3, In.c, hw, pr.x, dy), tol, tol);
}

template <class T>
void check_layers() {
  check_layer<max_pool<2>, shape{3, 8, 6}, T>(true, 2, 2, false);
  check_layer<max_pool<2>, shape{2, 7, 9}, T>(true, 2, 2, false);
  check_layer<max_pool<3, 1, padding::same>, shape{2, 7, 9}, T>(true, 3, 1, true);
  check_layer<max_pool<3, 2, padding::same>, shape{2, 7, 9}, T>(true, 3, 2, true);
  check_layer<max_pool<3, 2>, shape{2, 7, 9}, T>(true, 3, 2, false);
  check_layer<avg_pool<2>, shape{3, 8, 6}, T>(false, 2, 2, false);
  check_layer<avg_pool<3, 1, padding::same>, shape{2, 7, 9}, T>(false, 3, 1, true);
  check_layer<avg_pool<3, 2, padding::same>, shape{2, 7, 9}, T>(false, 3, 2, true);
  check_layer<avg_pool<3, 2>, shape{2, 7, 9}, T>(false, 3, 2, false);
  check_global_layer<global_avg_pool, shape{4, 5, 7}, T>(false);
  check_global_layer<global_max_pool, shape{4, 5, 7}, T>(true);
  check_global_layer<global_avg_pool, shape{6, 1, 1}, T>(false);
}

using testing::as_model;
using max2 = as_model<max_pool<2>, shape{2, 6, 8}>;
using max3s1 = as_model<max_pool<3, 1, padding::same>, shape{2, 5, 7}>;
using max3s2 = as_model<max_pool<3, 2, padding::same>, shape{2, 7, 9}>;
using max3v = as_model<max_pool<3, 2>, shape{2, 7, 9}>;
using avg2 = as_model<avg_pool<2>, shape{2, 7, 9}>;
using avg3s1 = as_model<avg_pool<3, 1, padding::same>, shape{2, 5, 7}>;
using avg3s2 = as_model<avg_pool<3, 2, padding::same>, shape{2, 7, 9}>;
using avg3v = as_model<avg_pool<3, 2>, shape{2, 7, 9}>;
using gap = as_model<global_avg_pool, shape{3, 5, 7}>;
using gmp = as_model<global_max_pool, shape{3, 5, 7}>;

}  // namespace

TEST_CASE("pool ops match the reference", "[layers][pool]") {
  for (const pool_case& t : cases) {
    DYNAMIC_SECTION("max " << t.name << " double") { check_case<double>(t, true); }
    DYNAMIC_SECTION("max " << t.name << " float") { check_case<float>(t, true); }
    DYNAMIC_SECTION("avg " << t.name << " double") { check_case<double>(t, false); }
    DYNAMIC_SECTION("avg " << t.name << " float") { check_case<float>(t, false); }
  }
}

TEST_CASE("average pooling excludes the padding from the count", "[layers][pool]") {
  // On a constant image every window's in-image mean is that constant, borders included.
  const ref::pool_params p{1, 2, 5, 7, 3, 2, 1};
  const ops::pool_geometry g{1, 2, 5, 7, 3, 3, 2, 2, 1, 1, p.out_h(), p.out_w()};
  std::vector<double> x(70, 2.5), y(static_cast<std::size_t>(2 * p.out_h() * p.out_w()), 0.0);
  exec::eigen<double>{}.pool_forward(ops::pool_kind::avg, g, x.data(), y.data());
  for (double v : y) CHECK(v == 2.5);
  // The corner window of a 3x3 / 1 same pool holds 4 pixels, so each gets a quarter of dy.
  const ops::pool_geometry g1{1, 1, 3, 3, 3, 3, 1, 1, 1, 1, 3, 3};
  std::vector<double> x1(9, 0.0), dy(9, 0.0), dx(9, -1.0);
  dy[0] = 1.0;
  exec::eigen<double>{}.pool_backward(ops::pool_kind::avg, g1, x1.data(), dy.data(), dx.data());
  CHECK(dx == std::vector<double>{0.25, 0.25, 0, 0.25, 0.25, 0, 0, 0, 0});
}

TEST_CASE("max pooling with padding never returns the padding", "[layers][pool]") {
  // All-negative input: a padded zero would win if padding took part.
  const ops::pool_geometry g{1, 1, 3, 3, 3, 3, 2, 2, 1, 1, 2, 2};
  std::vector<double> x{-9, -8, -7, -6, -5, -4, -3, -2, -1}, y(4, 0.0);
  exec::eigen<double>{}.pool_forward(ops::pool_kind::max, g, x.data(), y.data());
  CHECK(y == std::vector<double>{-5, -4, -2, -1});
}

TEST_CASE("global pool ops match the reference", "[layers][pool]") {
  for (bool max : {false, true}) {
    DYNAMIC_SECTION((max ? "max" : "avg") << " double") {
      check_global<double>(max, 3, 4, 35);
      check_global<double>(max, 2, 5, 1);
      check_global<double>(max, 2, 3, 64);
    }
    DYNAMIC_SECTION((max ? "max" : "avg") << " float") {
      check_global<float>(max, 3, 4, 35);
      check_global<float>(max, 2, 5, 1);
      check_global<float>(max, 2, 3, 64);
    }
  }
}

TEST_CASE("pool layers inside a network match the reference", "[layers][pool]") {
  SECTION("double") { check_layers<double>(); }
  SECTION("float") { check_layers<float>(); }
}

TEST_CASE("pool layer gradients match finite differences", "[layers][pool][gradcheck]") {
  CNNZOO_CHECK_GRADIENTS(max2, {});
  CNNZOO_CHECK_GRADIENTS(max3s1, {});
  CNNZOO_CHECK_GRADIENTS(max3s2, {});
  CNNZOO_CHECK_GRADIENTS(max3v, {});
  CNNZOO_CHECK_GRADIENTS(avg2, {});
  CNNZOO_CHECK_GRADIENTS(avg3s1, {});
  CNNZOO_CHECK_GRADIENTS(avg3s2, {});
  CNNZOO_CHECK_GRADIENTS(avg3v, {});
  CNNZOO_CHECK_GRADIENTS(gap, {});
  CNNZOO_CHECK_GRADIENTS(gmp, {});
}
