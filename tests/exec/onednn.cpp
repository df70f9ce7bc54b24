// The oneDNN policy (exec/onednn.hpp) against the naive fp64 convolution (support/reference.hpp):
// every geometry the zoo uses (3x3, strided, 1x1, grouped, depthwise, dilated, rectangular, a stem),
// forward output and every gradient, with both algorithm choices; which algorithm runs where; that
// a repeated call gives the same bits; and a whole network's gradients against exec::eigen<double>.
// Where the build has no oneDNN, the file says so and checks nothing else.
#include <catch2/catch.hpp>

#ifndef CNNZOO_HAVE_ONEDNN
TEST_CASE("onednn policy: not in this build", "[exec][onednn]") {
  WARN("this build has no oneDNN (libdnnl-dev); exec::onednn is not built");
}
#else

#include <cmath>
#include <string>
#include <vector>

#include <cnnzoo/exec/onednn.hpp>
#include <cnnzoo/models/resnet.hpp>

#include "support/conv_cases.hpp"
#include "support/reference.hpp"

using namespace cnnzoo;
namespace ref = cnnzoo::testing::ref;

namespace {

ref::conv_params params_of(const ops::conv_geometry& g) {
  return {g.n, g.c, g.h, g.w, g.k, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw, g.groups};
}

using testing::conv_case;

// The geometries of every policy's parity test, and the shapes that decide oneDNN's algorithm.
const std::vector<ops::conv_geometry>& cases() {
  static const std::vector<ops::conv_geometry> c = [] {
    std::vector<ops::conv_geometry> v = testing::policy_conv_cases();   // [0]: 3x3 on 9x9, Winograd's shape
    v.push_back(conv_case(2, 32, 16, 16, 32, 3, 3, 1, 1, 1, 1, 1, true));   // a residual unit's 3x3, bias
    v.push_back(conv_case(3, 24, 4, 4, 24, 3, 3, 1, 1, 1, 1, 1, false));    // 3x3 on 4x4: below Winograd's rule
    return v;
  }();
  return c;
}

// Normwise: the largest error over the largest reference value (at least `floor`), the measure that
// does not blow up where a sum of signed terms happens to cancel.
double normwise_error(const std::vector<float>& got, const ref::vec& want, double floor = 1e-30) {
  double err = 0, scale = floor;
  for (std::size_t i = 0; i < want.size(); ++i) {
    err = std::max(err, std::abs(static_cast<double>(got[i]) - want[i]));
    scale = std::max(scale, std::abs(want[i]));
  }
  return err / scale;
}

struct conv_run {
  std::vector<float> y, dx, dw, db;
};
conv_run run(const exec::onednn& p, const ops::conv_geometry& g, const ref::vec& x, const ref::vec& w,
             const ref::vec& b, const ref::vec& dy) {
  const auto xf = ref::cast<float>(x), wf = ref::cast<float>(w), bf = ref::cast<float>(b), dyf = ref::cast<float>(dy);
  conv_run r{std::vector<float>(dy.size()), std::vector<float>(x.size(), NAN), std::vector<float>(w.size(), NAN),
             std::vector<float>(b.size(), NAN)};
  p.conv2d_forward(g, xf.data(), wf.data(), g.bias ? bf.data() : nullptr, r.y.data());
  p.conv2d_backward(g, xf.data(), wf.data(), dyf.data(), r.dx.data(), r.dw.data(), g.bias ? r.db.data() : nullptr);
  return r;
}

}  // namespace

TEST_CASE("onednn policy: convolutions match the fp64 reference", "[exec][onednn][conv]") {
  for (const auto algorithms : {exec::onednn::algorithms::fastest, exec::onednn::algorithms::direct_only}) {
    const exec::onednn p(0, algorithms);
    INFO(p.describe());
    std::uint64_t seed = 10;
    for (const auto& g : cases()) {
      const std::string algorithm = p.conv_algorithm(g);
      INFO(g.describe() << ": " << algorithm);
      const ref::conv_params rp = params_of(g);
      // Inputs rounded to float first, so that both sides multiply the same numbers.
      auto rounded = [](ref::vec v) {
        for (double& d : v) d = static_cast<float>(d);
        return v;
      };
      const ref::vec x = rounded(ref::random_vector(rp.in_count(), seed++)),
                     w = rounded(ref::random_vector(rp.weight_count(), seed++, 0.3)),
                     b = rounded(ref::random_vector(static_cast<std::size_t>(g.k), seed++)),
                     dy = rounded(ref::random_vector(rp.out_count(), seed++));
      const ref::vec y = ref::conv2d(rp, x, w, g.bias ? b : ref::vec{});
      const ref::conv_grads grads = ref::conv2d_backward(rp, x, w, dy);
      const conv_run r = run(p, g, x, w, b, dy);
      // Direct convolution: fp32 summation error. Winograd: its transforms add a few ulps more.
      const double tol = algorithm == std::string("winograd") ? 2e-4 : 2e-5;
      CHECK(normwise_error(r.y, y) <= tol);
      CHECK(normwise_error(r.dx, grads.dx) <= tol);
      CHECK(normwise_error(r.dw, grads.dw) <= tol);
      if (g.bias) CHECK(normwise_error(r.db, grads.db) <= tol);
    }
  }
}

TEST_CASE("onednn policy: a convolution with BatchNorm and an activation folded in matches the fp64 reference",
          "[exec][onednn][conv][fusion]") {
  using ops::activation;
  const exec::onednn p;
  std::uint64_t seed = 200;
  auto rounded = [](ref::vec v) {
    for (double& d : v) d = static_cast<float>(d);
    return v;
  };
  // Post-ops (relu, relu6, sigmoid, swish), a pass after the convolution (hard_swish), none.
  for (const activation a : {activation::identity, activation::relu, activation::relu6, activation::sigmoid,
                             activation::swish, activation::hard_swish}) {
    for (const auto& g : cases()) {
      const std::string algorithm = p.conv_algorithm(g);
      INFO(g.describe() << ": " << algorithm << ", " << ops::activation_name(a));
      const ref::conv_params rp = params_of(g);
      const auto k = static_cast<std::size_t>(g.k);
      const ref::vec x = rounded(ref::random_vector(rp.in_count(), seed++)),
                     w = rounded(ref::random_vector(rp.weight_count(), seed++, 0.3)),
                     b = rounded(ref::random_vector(k, seed++)), gamma = rounded(ref::random_vector(k, seed++)),
                     beta = rounded(ref::random_vector(k, seed++)), mean = rounded(ref::random_vector(k, seed++));
      ref::vec var = ref::random_vector(k, seed++);
      for (double& v : var) v = static_cast<float>(0.2 + std::abs(v));
      const ops::batch_norm_geometry bg{g.n, g.k, g.oh * g.ow, 1e-5, 0.1};
      // The reference: the convolution, then BatchNorm and the activation, unfolded, in fp64.
      ref::vec want = ref::conv2d(rp, x, w, g.bias ? b : ref::vec{});
      const std::size_t hw = static_cast<std::size_t>(g.oh) * static_cast<std::size_t>(g.ow);
      for (std::size_t i = 0; i < want.size(); ++i) {
        const std::size_t c = i / hw % k;
        const double v = (want[i] - mean[c]) / std::sqrt(var[c] + bg.eps) * gamma[c] + beta[c];
        want[i] = exec::eigen_detail::activate(a, v);
      }
      const auto f = [](const ref::vec& v) { return ref::cast<float>(v); };
      const auto xf = f(x), wf = f(w), bf = f(b), gf = f(gamma), betaf = f(beta), mf = f(mean), vf = f(var);
      std::vector<float> y(want.size(), NAN);
      p.conv2d_norm_activation_forward_infer(g, bg, a, xf.data(), wf.data(), g.bias ? bf.data() : nullptr, gf.data(),
                                             betaf.data(), mf.data(), vf.data(), y.data());
      const double tol = algorithm == std::string("winograd") ? 2e-4 : 2e-5;
      CHECK(normwise_error(y, want) <= tol);
    }
  }
}

TEST_CASE("onednn policy: Winograd only where the rule allows it", "[exec][onednn][conv]") {
  const exec::onednn fastest(0), direct(0, exec::onednn::algorithms::direct_only);
  for (const auto& g : cases()) {
    INFO(g.describe());
    CHECK(std::string(direct.conv_algorithm(g)) == "direct");
    const bool shape = g.kh == 3 && g.kw == 3 && g.sh == 1 && g.dh == 1 && g.groups == 1 && g.oh >= 8 && g.ow >= 8;
    if (!shape) CHECK(std::string(fastest.conv_algorithm(g)) == "direct");
    // Where the shape allows it, oneDNN has Winograd on AVX-512 cores only; either is right.
    if (shape) CHECK_THAT(fastest.conv_algorithm(g), Catch::Matchers::Equals("winograd") || Catch::Matchers::Equals("direct"));
  }
}

TEST_CASE("onednn policy: a repeated convolution gives the same bits", "[exec][onednn][conv]") {
  const exec::onednn p;
  const auto& g = cases()[8];
  const ref::conv_params rp = params_of(g);
  const ref::vec x = ref::random_vector(rp.in_count(), 1), w = ref::random_vector(rp.weight_count(), 2, 0.3),
                 b = ref::random_vector(static_cast<std::size_t>(g.k), 3), dy = ref::random_vector(rp.out_count(), 4);
  const conv_run a = run(p, g, x, w, b, dy);
  // Another geometry between the two calls, so that the shared buffers are reused by someone else.
  run(p, cases()[1], ref::random_vector(params_of(cases()[1]).in_count(), 5),
      ref::random_vector(params_of(cases()[1]).weight_count(), 6), ref::random_vector(8, 7),
      ref::random_vector(params_of(cases()[1]).out_count(), 8));
  const conv_run c = run(p, g, x, w, b, dy);
  CHECK(a.y == c.y);
  CHECK(a.dx == c.dx);
  CHECK(a.dw == c.dw);
  CHECK(a.db == c.db);
  // A copy of the policy builds its own primitives and gives the same bits too.
  const exec::onednn copy = p;
  const conv_run d = run(copy, g, x, w, b, dy);
  CHECK(a.y == d.y);
  CHECK(a.dw == d.dw);
}

TEST_CASE("onednn policy: ResNet18's logits and gradients match exec::eigen<double>", "[exec][onednn][model]") {
  constexpr int n = 4;
  network<models::resnet18, exec::onednn> fast(n, 3);
  network<models::resnet18, exec::eigen<double>> reference(n, 3);
  const std::vector<float> params = fast.download_params();
  reference.upload_params(std::vector<double>(params.begin(), params.end()));
  const std::vector<float> images = ref::cast<float>(ref::random_vector(static_cast<std::size_t>(n) * 3 * 32 * 32, 9));
  INFO(fast.policy().describe());
  auto logits = [&](auto& net) {
    net.set_input(images.data(), n);
    const auto* z = net.forward(n);
    return std::vector<double>(z, z + n * 10);
  };
  // Training mode (BatchNorm on batch statistics), forward only.
  const std::vector<double> zf = logits(fast);
  CHECK(normwise_error(std::vector<float>(zf.begin(), zf.end()), logits(reference)) <= 1e-4);

  // Gradients in inference mode: BatchNorm is then a fixed affine map, so the comparison measures
  // the kernels. (With batch statistics over 4 images the backward pass amplifies every rounding
  // difference a thousandfold: two fp32 implementations then differ by 1e-3 whatever their kernels.)
  fast.set_training(false);
  reference.set_training(false);
  logits(fast);
  logits(reference);
  const ref::vec dz = ref::random_vector(static_cast<std::size_t>(n) * 10, 11);
  const std::vector<float> dzf = ref::cast<float>(dz);
  fast.backward(dzf.data(), n);
  reference.backward(dz.data(), n);
  const std::vector<float> gf = fast.download_grads();
  const std::vector<double> gd = reference.download_grads();
  // Tensor by tensor: a wrong kernel shows in its own tensor, not drowned by a larger one.
  for (const tensor_entry& e : fast.tensors()) {
    if (e.is_state) continue;
    const std::vector<float> got(gf.begin() + static_cast<std::ptrdiff_t>(e.offset),
                                 gf.begin() + static_cast<std::ptrdiff_t>(e.offset + e.info.count()));
    const ref::vec want(gd.begin() + static_cast<std::ptrdiff_t>(e.offset),
                        gd.begin() + static_cast<std::ptrdiff_t>(e.offset + e.info.count()));
    INFO(e.path);
    CHECK(normwise_error(got, want) <= 1e-4);
  }
}

#endif  // CNNZOO_HAVE_ONEDNN
