// The CPU kernels' one matrix product (exec/eigen/gemm.hpp), both engines, against a plain triple
// loop: every transpose combination, leading dimensions wider than the blocks (the kernels multiply
// blocks of larger buffers), overwrite and accumulate, and shapes down to 1.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include <cnnzoo/core/rng.hpp>
#include <cnnzoo/exec/eigen.hpp>

namespace {

using cnnzoo::exec::eigen_detail::accumulate;

template <class T>
std::vector<T> random_values(std::size_t n, std::uint64_t seed) {
  cnnzoo::rng g(seed);
  std::vector<T> v(n);
  for (T& x : v) x = static_cast<T>(g.normal());
  return v;
}

struct product_case {
  bool ta, tb;
  std::ptrdiff_t m, n, k;
  accumulate acc;
};

// C = op(A) op(B) (+ C) in double, element by element.
template <class T>
std::vector<double> naive(const product_case& p, const std::vector<T>& a, std::ptrdiff_t lda, const std::vector<T>& b,
                          std::ptrdiff_t ldb, const std::vector<T>& c, std::ptrdiff_t ldc) {
  std::vector<double> out(c.begin(), c.end());
  for (std::ptrdiff_t i = 0; i < p.m; ++i)
    for (std::ptrdiff_t j = 0; j < p.n; ++j) {
      double s = 0;
      for (std::ptrdiff_t l = 0; l < p.k; ++l) {
        const double av = p.ta ? a[l * lda + i] : a[i * lda + l];
        const double bv = p.tb ? b[j * ldb + l] : b[l * ldb + j];
        s += av * bv;
      }
      out[i * ldc + j] = (p.acc == accumulate::yes ? out[i * ldc + j] : 0.0) + s;
    }
  return out;
}

template <class T, class Gemm>
void check_engine(Gemm gemm, double tolerance) {
  std::uint64_t seed = 1;
  for (const bool ta : {false, true})
    for (const bool tb : {false, true})
      for (const accumulate acc : {accumulate::no, accumulate::yes})
        for (const auto& [m, n, k] : std::vector<std::array<std::ptrdiff_t, 3>>{{1, 1, 1}, {3, 5, 7}, {17, 64, 33}, {64, 129, 288}}) {
          const product_case p{ta, tb, m, n, k, acc};
          // Stored shapes of A and B, each row padded by 3 elements that must not be read or written.
          const std::ptrdiff_t a_rows = ta ? k : m, a_cols = ta ? m : k, b_rows = tb ? n : k, b_cols = tb ? k : n;
          const std::ptrdiff_t lda = a_cols + 3, ldb = b_cols + 3, ldc = n + 3;
          const auto a = random_values<T>(static_cast<std::size_t>(a_rows * lda), seed++);
          const auto b = random_values<T>(static_cast<std::size_t>(b_rows * ldb), seed++);
          auto c = random_values<T>(static_cast<std::size_t>(m * ldc), seed++);
          const auto expected = naive(p, a, lda, b, ldb, c, ldc);
          gemm(ta, tb, m, n, k, a.data(), lda, b.data(), ldb, c.data(), ldc, acc);
          INFO("op(A) " << m << "x" << k << (ta ? " (A transposed)" : "") << ", op(B) " << k << "x" << n
                        << (tb ? " (B transposed)" : "") << (acc == accumulate::yes ? ", accumulating" : ""));
          for (std::ptrdiff_t i = 0; i < m; ++i)
            for (std::ptrdiff_t j = 0; j < ldc; ++j) {
              const double want = expected[static_cast<std::size_t>(i * ldc + j)];
              const double got = c[static_cast<std::size_t>(i * ldc + j)];
              if (j >= n) {
                REQUIRE(got == want);   // the padding of C is left alone
              } else {
                REQUIRE(std::abs(got - want) <= tolerance * (1.0 + std::abs(want)) * std::sqrt(static_cast<double>(k)));
              }
            }
        }
}

}  // namespace

TEST_CASE("gemm: Eigen's engine in double matches the triple loop", "[exec][gemm]") {
  check_engine<double>(cnnzoo::exec::eigen_detail::eigen_gemm<double>, 1e-13);
}

TEST_CASE("gemm: Eigen's engine in float matches the triple loop", "[exec][gemm]") {
  check_engine<float>(cnnzoo::exec::eigen_detail::eigen_gemm<float>, 1e-5);
}

TEST_CASE("gemm: the build's float engine matches the triple loop", "[exec][gemm]") {
  INFO("engine: " << cnnzoo::exec::eigen_detail::gemm_engine());
  check_engine<float>(cnnzoo::exec::eigen_detail::gemm<float>, 1e-5);
#ifdef CNNZOO_HAVE_ONEDNN
  CHECK(cnnzoo::exec::eigen_detail::gemm_engine().find("oneDNN") == 0);
#else
  CHECK(cnnzoo::exec::eigen_detail::gemm_engine().find("Eigen") == 0);
#endif
}
