// Dense (fully connected) layers with and without bias, and flatten, on the Eigen policy against
// the reference, inside a network, and against finite differences.
#include <catch2/catch.hpp>

#include <limits>
#include <vector>

#include "support/gradcheck.hpp"
#include "support/reference.hpp"

using namespace cnnzoo;
namespace ref = cnnzoo::testing::ref;

namespace {

template <class T>
void check_op(int n, int in, int out, bool bias) {
  const std::vector<T> x = ref::cast<T>(ref::random_vector(static_cast<std::size_t>(n) * in, 1)),
                       w = ref::cast<T>(ref::random_vector(static_cast<std::size_t>(out) * in, 2, 0.5)),
                       b = ref::cast<T>(bias ? ref::random_vector(static_cast<std::size_t>(out), 3) : ref::vec{}),
                       dy = ref::cast<T>(ref::random_vector(static_cast<std::size_t>(n) * out, 4));
  const auto d = [](const std::vector<T>& v) { return ref::vec(v.begin(), v.end()); };
  const double tol = sizeof(T) == 8 ? 1e-12 : 1e-5;
  const T nan = std::numeric_limits<T>::quiet_NaN();
  exec::eigen<T> pol;
  std::vector<T> y(static_cast<std::size_t>(n) * out, nan);
  pol.dense_forward(n, in, out, x.data(), w.data(), bias ? b.data() : nullptr, y.data());
  CNNZOO_CHECK_CLOSE(y.data(), ref::dense(n, in, out, d(x), d(w), d(b)), tol, tol);

  const ref::dense_grads g = ref::dense_backward(n, in, out, d(x), d(w), d(dy));
  std::vector<T> dx(x.size(), nan), dw(w.size(), nan), db(static_cast<std::size_t>(out), nan);
  pol.dense_backward(n, in, out, x.data(), w.data(), dy.data(), dx.data(), dw.data(), bias ? db.data() : nullptr);
  CNNZOO_CHECK_CLOSE(dx.data(), g.dx, tol, tol);
  CNNZOO_CHECK_CLOSE(dw.data(), g.dw, tol, tol);
  if (bias) CNNZOO_CHECK_CLOSE(db.data(), g.db, tol, tol);
  std::vector<T> dw2(w.size(), nan);
  pol.dense_backward(n, in, out, x.data(), w.data(), dy.data(), nullptr, dw2.data(), nullptr);
  CNNZOO_CHECK_CLOSE(dw2.data(), g.dw, tol, tol);
}

template <int Out, bool Bias, shape In, class T>
void check_layer() {
  using M = testing::as_model<dense<Out, Bias>, In>;
  STATIC_REQUIRE(trainable_params<M> == static_cast<std::size_t>(Out) * In.c + (Bias ? Out : 0));
  const int n = 3;
  testing::probe<M, T> pr(n, 5, true);
  const double tol = sizeof(T) == 8 ? 1e-12 : 1e-5;
  const ref::vec w = pr.param(0), b = Bias ? pr.param(1) : ref::vec{};
  const ref::vec y = pr.forward();
  CNNZOO_CHECK_CLOSE(y.data(), ref::dense(n, In.c, Out, pr.x, w, b), tol, tol);
  const ref::vec dy = pr.rounded(ref::random_vector(y.size(), 6));
  const ref::vec dx = pr.backward(dy);
  const ref::dense_grads g = ref::dense_backward(n, In.c, Out, pr.x, w, dy);
  CNNZOO_CHECK_CLOSE(dx.data(), g.dx, tol, tol);
  const ref::vec grads = pr.grads();
  CNNZOO_CHECK_CLOSE(pr.slice(grads, 0).data(), g.dw, tol, tol);
  if (Bias) CNNZOO_CHECK_CLOSE(pr.slice(grads, 1).data(), g.db, tol, tol);
}

// flatten then dense: the features are read in (c, h, w) order, so the dense weight [o][c*h*w]
// meets x[c][h][w] at column (c * h + y) * w + x.
template <class T>
void check_flatten_dense() {
  constexpr shape in{2, 3, 5};
  using M = testing::as_model<seq<flatten, dense<4>>, in>;
  STATIC_REQUIRE(bind_t<flatten, in>::out == shape{30, 1, 1});
  testing::probe<M, T> pr(2, 8, true);
  const double tol = sizeof(T) == 8 ? 1e-12 : 1e-5;
  const ref::vec y = pr.forward();
  CNNZOO_CHECK_CLOSE(y.data(), ref::dense(2, 30, 4, pr.x, pr.param(0), pr.param(1)), tol, tol);
  const ref::vec dy = pr.rounded(ref::random_vector(y.size(), 6));
  CNNZOO_CHECK_CLOSE(pr.backward(dy).data(), ref::dense_backward(2, 30, 4, pr.x, pr.param(0), dy).dx, tol, tol);
}

using dense_bias = testing::as_model<dense<5>, shape{7, 1, 1}>;
using dense_plain = testing::as_model<dense<3, false>, shape{6, 1, 1}>;
using flatten_only = testing::as_model<flatten, shape{3, 4, 5}>;
using flatten_dense = testing::as_model<seq<flatten, dense<4>>, shape{2, 3, 5}>;

}  // namespace

TEST_CASE("dense op matches the reference", "[layers][dense]") {
  SECTION("double, bias") { check_op<double>(3, 7, 5, true); }
  SECTION("double, no bias") { check_op<double>(4, 6, 3, false); }
  SECTION("double, one image, one output") { check_op<double>(1, 9, 1, true); }
  SECTION("float, bias") { check_op<float>(3, 7, 5, true); }
  SECTION("float, no bias, wide") { check_op<float>(5, 300, 10, false); }
}

TEST_CASE("dense layers inside a network match the reference", "[layers][dense]") {
  check_layer<5, true, shape{7, 1, 1}, double>();
  check_layer<3, false, shape{6, 1, 1}, double>();
  check_layer<5, true, shape{7, 1, 1}, float>();
  check_layer<3, false, shape{6, 1, 1}, float>();
  check_flatten_dense<double>();
  check_flatten_dense<float>();
}

TEST_CASE("flatten keeps (c, h, w) order both ways", "[layers][dense]") {
  testing::probe<flatten_only, double> pr(2, 3, true);
  const ref::vec y = pr.forward();
  CHECK(y == pr.x);
  const ref::vec dy = ref::random_vector(y.size(), 4);
  CHECK(pr.backward(dy) == dy);
  exec::eigen<float> pol;
  std::vector<float> x{1, 2, 3, 4, 5, 6}, out(6, 0.f), back(6, 0.f);
  pol.flatten_forward(1, 2, 3, x.data(), out.data());
  CHECK(out == x);
  pol.flatten_backward(1, 2, 3, out.data(), back.data());
  CHECK(back == x);
}

TEST_CASE("dense and flatten gradients match finite differences", "[layers][dense][gradcheck]") {
  CNNZOO_CHECK_GRADIENTS(dense_bias, {.batch = 3});
  CNNZOO_CHECK_GRADIENTS(dense_plain, {.batch = 2});
  CNNZOO_CHECK_GRADIENTS(flatten_only, {.batch = 2});
  CNNZOO_CHECK_GRADIENTS(flatten_dense, {.batch = 2});
}
