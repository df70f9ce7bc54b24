// Softmax cross-entropy: the policy op against the reference (loss and gradient, soft targets,
// large logits), and the training step (train::trainer) with label smoothing and with soft targets.
#include <catch2/catch.hpp>

#include <cmath>
#include <stdexcept>
#include <vector>

#include <cnnzoo/train/step.hpp>

#include "support/reference.hpp"

using namespace cnnzoo;
namespace ref = cnnzoo::testing::ref;

namespace {

ref::vec soft_targets(int n, int classes, std::uint64_t seed) {
  rng g(seed);
  ref::vec t(static_cast<std::size_t>(n) * classes);
  for (int i = 0; i < n; ++i) {
    double sum = 0;
    for (int k = 0; k < classes; ++k) sum += t[static_cast<std::size_t>(i) * classes + k] = g.uniform() * g.uniform();
    for (int k = 0; k < classes; ++k) t[static_cast<std::size_t>(i) * classes + k] /= sum;
  }
  return t;
}

template <class T>
void check_op(const ref::vec& logits, const ref::vec& targets, int n, int classes) {
  const std::vector<T> z = ref::cast<T>(logits), t = ref::cast<T>(targets);
  const ref::vec zd(z.begin(), z.end()), td(t.begin(), t.end());
  const ref::loss_result r = ref::softmax_cross_entropy(n, classes, zd, td);
  std::vector<T> d(z.size());
  const double loss = exec::eigen<T>{}.softmax_cross_entropy(n, classes, z.data(), t.data(), d.data());
  const double tol = sizeof(T) == 8 ? 1e-12 : 1e-6;
  CHECK(loss == Approx(r.loss).epsilon(tol));
  CNNZOO_CHECK_CLOSE(d.data(), r.dlogits, tol, tol);
  // Targets sum to one per row, so each row of the gradient sums to zero.
  for (int i = 0; i < n; ++i) {
    double s = 0;
    for (int k = 0; k < classes; ++k) s += d[static_cast<std::size_t>(i) * classes + k];
    CHECK(std::abs(s) < 10 * tol);
  }
}

struct linear : seq<dense<10>> {
  static constexpr shape input{6, 1, 1};
};

}  // namespace

TEST_CASE("softmax cross-entropy op matches the reference", "[layers][loss]") {
  const int n = 5, classes = 10;
  const ref::vec z = ref::random_vector(static_cast<std::size_t>(n) * classes, 1, 3.0);
  SECTION("soft targets, double") { check_op<double>(z, soft_targets(n, classes, 2), n, classes); }
  SECTION("soft targets, float") { check_op<float>(z, soft_targets(n, classes, 2), n, classes); }
  SECTION("label smoothing 0.1, double") {
    check_op<double>(z, ref::smoothed_targets({0, 3, 9, 3, 5}, classes, 0.1), n, classes);
  }
  SECTION("hard labels, float") { check_op<float>(z, ref::smoothed_targets({1, 1, 2, 8, 0}, classes, 0.0), n, classes); }
  SECTION("large logits do not overflow") {
    ref::vec big = z;
    for (double& v : big) v *= 400;   // |z| up to ~ 4000
    check_op<double>(big, soft_targets(n, classes, 3), n, classes);
    check_op<float>(big, ref::smoothed_targets({0, 1, 2, 3, 4}, classes, 0.2), n, classes);
  }
}

TEST_CASE("softmax cross-entropy: known values", "[layers][loss]") {
  // Equal logits: the loss is log(classes) whatever the targets.
  std::vector<double> z(10, 3.0), t(10, 0.0), d(10);
  t[4] = 1;
  CHECK(exec::eigen<double>{}.softmax_cross_entropy(1, 10, z.data(), t.data(), d.data()) == Approx(std::log(10.0)));
  CHECK(d[4] == Approx(0.1 - 1));
  CHECK(d[0] == Approx(0.1));
}

TEST_CASE("train_step: loss with label smoothing and its gradient", "[layers][loss]") {
  const int n = 4;
  network<linear, exec::eigen<double>> net(n, 3);
  train::trainer trainer(net);
  trainer.options().lr = 0;   // keep the parameters: only the loss and gradients are checked
  std::vector<float> images(static_cast<std::size_t>(n) * 6);
  rng g(5);
  for (float& v : images) v = static_cast<float>(g.normal());
  const std::vector<int> labels{7, 0, 9, 7};
  const ref::vec x(images.begin(), images.end());
  const std::vector<double> p = net.download_params();
  const ref::vec w(p.begin(), p.begin() + 60), b(p.begin() + 60, p.end());
  const ref::vec z = ref::dense(n, 6, 10, x, w, b);
  for (double eps : {0.0, 0.1, 0.3}) {
    DYNAMIC_SECTION("smoothing " << eps) {
      const ref::loss_result r = ref::softmax_cross_entropy(n, 10, z, ref::smoothed_targets(labels, 10, eps));
      const double loss = trainer.train_step(images.data(), labels.data(), n, eps);
      CHECK(loss == Approx(r.loss).epsilon(1e-12));
      const ref::dense_grads gr = ref::dense_backward(n, 6, 10, x, w, r.dlogits);
      CNNZOO_CHECK_CLOSE(net.grads(), gr.dw, 1e-12, 1e-12);
      CNNZOO_CHECK_CLOSE(net.grads() + 60, gr.db, 1e-12, 1e-12);
    }
  }
  SECTION("soft targets") {
    const ref::vec t = soft_targets(n, 10, 9);
    const ref::loss_result r = ref::softmax_cross_entropy(n, 10, z, t);
    CHECK(trainer.train_step_soft(images.data(), t.data(), n) == Approx(r.loss).epsilon(1e-12));
    CNNZOO_CHECK_CLOSE(net.grads(), ref::dense_backward(n, 6, 10, x, w, r.dlogits).dw, 1e-12, 1e-12);
  }
  SECTION("a label outside 0..9 is refused before anything changes") {
    const std::vector<int> bad{7, 0, 10, 7};
    CHECK_THROWS_AS(trainer.train_step(images.data(), bad.data(), n), std::out_of_range);
    const std::vector<int> negative{-1, 0, 1, 2};
    CHECK_THROWS_AS(trainer.train_step(images.data(), negative.data(), n), std::out_of_range);
    CHECK(net.download_params() == p);
  }
}
