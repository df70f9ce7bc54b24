// The CUDA policy's arithmetic, run on the CPU: every functor the GPU kernels execute is plain
// C++ under the host compiler, so here each one runs in a loop over its indices (the channel
// partial sums split exactly as the GPU splits them) and is compared with the Eigen policy.
// No GPU is needed; this is the part of the CUDA policy that CI checks for real.
#include <catch2/catch.hpp>

#include <algorithm>
#include <numeric>
#include <vector>

#include <cnnzoo/data/batch_plan.hpp>
#include <cnnzoo/exec/eigen.hpp>
#include <cnnzoo/exec/cuda/cudnn_version.hpp>

#define CNNZOO_CUDA_POLICY_INTERNAL
#include <cnnzoo/exec/cuda/functors.hpp>
#undef CNNZOO_CUDA_POLICY_INTERNAL

#include "support.hpp"
#include "support/random_images.hpp"

using namespace cnnzoo;
using namespace cnnzoo::exec;
using namespace cnnzoo::exec::cuda_detail;
using namespace cnnzoo::testing::gpu;

namespace {

template <class F>
void run(index_t n, const F& f) {
  for (index_t i = 0; i < n; ++i) f(i);
}

// The GPU's channel_partials_kernel, one slice at a time.
template <class F>
std::vector<sum2> channel_partials(const F& f, index_t channels, index_t slices, index_t per_channel, index_t hw) {
  std::vector<sum2> p(channels * slices);
  const index_t chunk = (per_channel + slices - 1) / slices;
  for (index_t c = 0; c < channels; ++c)
    for (index_t s = 0; s < slices; ++s) {
      float a = 0, b = 0;
      for (index_t j = s * chunk; j < std::min(per_channel, (s + 1) * chunk); ++j) {
        const sum2 v = f(channel_element(c, j, channels, hw), c);
        a += v.a;
        b += v.b;
      }
      p[c * slices + s] = {a, b};
    }
  return p;
}

std::vector<float> randf(std::size_t n, std::uint64_t seed, double scale = 1.0, double offset = 0.0) {
  return to<float>(random_vector(n, seed, scale, offset));
}

vec wide(const std::vector<float>& v) { return widen(v); }

}  // namespace

TEST_CASE("cuda functors: activations match the Eigen policy", "[cuda][functors]") {
  const std::size_t n = 4000;
  const auto x = randf(n, 1, 4.0);
  const auto dy = randf(n, 2);
  const exec::eigen<float> cpu;
  for (activation a : {activation::identity, activation::relu, activation::relu6, activation::sigmoid,
                       activation::hard_sigmoid, activation::swish, activation::hard_swish}) {
    std::vector<float> y(n), ye(n), dx(n), dxe(n);
    run(n, activation_forward_fn<float>{a, x.data(), y.data()});
    cpu.activation_forward(a, n, x.data(), ye.data());
    CNNZOO_CHECK_REL(activation_name(a), wide(y), wide(ye), 1e-6);
    run(n, activation_backward_fn<float>{a, x.data(), y.data(), dy.data(), dx.data()});
    cpu.activation_backward(a, n, x.data(), ye.data(), dy.data(), dxe.data());
    CNNZOO_CHECK_REL(std::string(activation_name(a)) + " backward", wide(dx), wide(dxe), 1e-6);
  }
}

TEST_CASE("cuda functors: window pooling matches the Eigen policy exactly", "[cuda][functors]") {
  struct pool_case { int h, w, k, s, p; };
  const exec::eigen<float> cpu;
  for (const pool_case pc : {pool_case{8, 8, 2, 2, 0}, pool_case{9, 7, 3, 2, 1}, pool_case{6, 6, 3, 1, 1},
                             pool_case{7, 7, 3, 2, 0}, pool_case{5, 8, 5, 3, 2}}) {
    const int n = 2, c = 3;
    const int oh = (pc.h + 2 * pc.p - pc.k) / pc.s + 1, ow = (pc.w + 2 * pc.p - pc.k) / pc.s + 1;
    const pool_geometry g{n, c, pc.h, pc.w, pc.k, pc.k, pc.s, pc.s, pc.p, pc.p, oh, ow};
    const std::size_t in = std::size_t(n) * c * pc.h * pc.w, out = std::size_t(n) * c * oh * ow;
    const auto x = randf(in, 3 + pc.h);
    const auto dy = randf(out, 4 + pc.w);
    for (pool_kind kind : {pool_kind::max, pool_kind::avg}) {
      std::vector<float> y(out), ye(out), dx(in), dxe(in);
      run(out, pool_forward_fn<float>{kind, g, x.data(), y.data()});
      cpu.pool_forward(kind, g, x.data(), ye.data());
      CHECK(y == ye);
      run(in, pool_backward_fn<float>{kind, g, x.data(), dy.data(), dx.data()});
      cpu.pool_backward(kind, g, x.data(), dy.data(), dxe.data());
      INFO("pool " << pc.h << "x" << pc.w << " k" << pc.k << " s" << pc.s << " p" << pc.p
                   << (kind == pool_kind::max ? " max" : " avg"));
      CHECK(dx == dxe);
    }
  }
}

TEST_CASE("cuda functors: global pooling matches the Eigen policy", "[cuda][functors]") {
  const exec::eigen<float> cpu;
  const int n = 3, c = 5, hw = 49;
  const auto x = randf(std::size_t(n) * c * hw, 7);
  const auto dy = randf(std::size_t(n) * c, 8);
  for (pool_kind kind : {pool_kind::max, pool_kind::avg}) {
    std::vector<float> y(n * c), ye(n * c), dx(n * c * hw), dxe(n * c * hw);
    run(n * c, global_pool_forward_fn<float>{kind, hw, x.data(), y.data()});
    cpu.global_pool_forward(kind, n, c, hw, x.data(), ye.data());
    CNNZOO_CHECK_REL("global pool", wide(y), wide(ye), 1e-6);
    run(n * c, global_pool_backward_fn<float>{kind, hw, x.data(), dy.data(), dx.data()});
    cpu.global_pool_backward(kind, n, c, hw, x.data(), dy.data(), dxe.data());
    CNNZOO_CHECK_REL("global pool backward", wide(dx), wide(dxe), 1e-6);
  }
}

TEST_CASE("cuda functors: BatchNorm forward and backward match the Eigen policy", "[cuda][functors]") {
  const exec::eigen<double> cpu;
  const int n = 4, c = 6, hw = 25;
  const index_t per = std::size_t(n) * hw, count = per * c;
  const auto x = randf(count, 11, 2.0, 0.5);
  const auto dy = randf(count, 12);
  const auto gamma = randf(c, 13, 0.5, 1.0), beta = randf(c, 14);
  const batch_norm_geometry g{n, c, hw, 1e-5, 0.1};
  for (index_t slices : {index_t{1}, index_t{3}, index_t{7}}) {
    for (bool training : {true, false}) {
      INFO("slices " << slices << (training ? " training" : " inference"));
      std::vector<float> rm(c, 0.25f), rv(c, 2.0f), sm(c), si(c), y(count);
      vec rme(c, 0.25), rve(c, 2.0), sme(c), sie(c), ye(count);
      if (training) {
        auto p = channel_partials(sum_x_fn<float>{x.data()}, c, slices, per, hw);
        run(c, bn_mean_fn{p.data(), slices, double(per), sm.data()});
        p = channel_partials(sum_sq_dev_fn<float>{x.data(), sm.data()}, c, slices, per, hw);
        run(c, bn_var_fn{p.data(), slices, double(per), g.eps, g.momentum, sm.data(), si.data(), rm.data(), rv.data()});
      } else {
        run(c, bn_infer_stats_fn{g.eps, rm.data(), rv.data(), sm.data(), si.data()});
      }
      run(count, bn_apply_fn<float>{hw, index_t(c), x.data(), gamma.data(), beta.data(), sm.data(), si.data(), y.data()});
      const vec xd = wide(x), gd = wide(gamma), bd = wide(beta), dyd = wide(dy);
      cpu.batch_norm_forward(g, training, xd.data(), gd.data(), bd.data(), rme.data(), rve.data(), sme.data(),
                             sie.data(), ye.data());
      CNNZOO_CHECK_REL("y", wide(y), ye, 1e-6);
      CNNZOO_CHECK_REL("running mean", wide(rm), rme, 1e-6);
      CNNZOO_CHECK_REL("running var", wide(rv), rve, 1e-6);
      CNNZOO_CHECK_REL("saved mean", wide(sm), sme, 1e-6);
      CNNZOO_CHECK_REL("saved 1/std", wide(si), sie, 1e-6);

      std::vector<float> dgamma(c), dbeta(c), coef(2 * c), dx(count);
      const auto p = channel_partials(sum_bn_backward_fn<float>{x.data(), dy.data(), sm.data(), si.data()}, c, slices,
                                      per, hw);
      run(c, bn_backward_finalize_fn{p.data(), slices, index_t(c), double(per), training, dgamma.data(), dbeta.data(),
                                     coef.data()});
      run(count, bn_backward_dx_fn<float>{hw, index_t(c), x.data(), dy.data(), gamma.data(), sm.data(), si.data(),
                                          coef.data(), dx.data()});
      vec dge(c), dbe(c), dxe(count);
      cpu.batch_norm_backward(g, training, xd.data(), gd.data(), sme.data(), sie.data(), dyd.data(), dxe.data(),
                              dge.data(), dbe.data());
      CNNZOO_CHECK_REL("dgamma", wide(dgamma), dge, 1e-5);
      CNNZOO_CHECK_REL("dbeta", wide(dbeta), dbe, 1e-5);
      CNNZOO_CHECK_REL("dx", wide(dx), dxe, 1e-5);
    }
  }
}

TEST_CASE("cuda functors: biases, channel blocks, dropout, multiply match the Eigen policy", "[cuda][functors]") {
  const exec::eigen<float> cpu;
  SECTION("conv bias forward and its gradient over (n, h, w)") {
    const int n = 3, k = 4, hw = 10;
    const auto dy = randf(std::size_t(n) * k * hw, 21);
    const auto b = randf(k, 22);
    std::vector<float> y(dy), expect(dy);
    run(y.size(), bias_add_fn<float>{index_t(hw), index_t(k), b.data(), y.data()});
    for (int i = 0; i < n; ++i)
      for (int c = 0; c < k; ++c)
        for (int j = 0; j < hw; ++j) expect[(std::size_t(i) * k + c) * hw + j] += b[c];
    CHECK(y == expect);
    const auto p = channel_partials(sum_x_fn<float>{dy.data()}, k, 2, std::size_t(n) * hw, hw);
    std::vector<float> db(k);
    run(k, channel_total_fn{p.data(), 2, db.data()});
    for (int c = 0; c < k; ++c) {
      double s = 0;
      for (int i = 0; i < n; ++i)
        for (int j = 0; j < hw; ++j) s += dy[(std::size_t(i) * k + c) * hw + j];
      CHECK(db[c] == Approx(s).epsilon(1e-6));
    }
  }
  SECTION("dense bias gradient: column sums") {
    const int n = 5, out = 7;
    const auto dy = randf(std::size_t(n) * out, 23);
    std::vector<float> db(out);
    run(out, column_sum_fn<float>{index_t(n), index_t(out), dy.data(), db.data()});
    for (int o = 0; o < out; ++o) {
      double s = 0;
      for (int r = 0; r < n; ++r) s += dy[std::size_t(r) * out + o];
      CHECK(db[o] == Approx(s).epsilon(1e-6));
    }
  }
  SECTION("copy_channels with accumulation") {
    const channel_copy blk{2, 6, 5, 1, 7, 3, 3};
    const auto src = randf(std::size_t(2) * 5 * 6, 24);
    auto dst = randf(std::size_t(2) * 7 * 6, 25);
    auto expect = dst;
    run(std::size_t(2) * 3 * 6, channel_add_fn<float>{blk, src.data(), dst.data()});
    cpu.copy_channels(blk, src.data(), expect.data(), true);
    CHECK(dst == expect);
  }
  SECTION("dropout draws the Eigen policy's mask") {
    const std::size_t n = 5000;
    const auto x = randf(n, 26);
    std::vector<float> m(n), y(n), me(n), ye(n);
    run(n, dropout_fn<float>{0.3f, 1.0f / 0.7f, 0x1234, x.data(), m.data(), y.data()});
    cpu.dropout_forward(n, 0.3f, 0x1234, x.data(), me.data(), ye.data());
    CHECK(m == me);
    CHECK(y == ye);
    std::vector<float> g(n), ge(n);
    run(n, multiply_fn<float>{x.data(), m.data(), g.data()});
    cpu.multiply(n, x.data(), me.data(), ge.data());
    CHECK(g == ge);
  }
  SECTION("add, axpby, fill") {
    const std::size_t n = 300;
    const auto a = randf(n, 27), b = randf(n, 28);
    std::vector<float> y(n), ye(n);
    run(n, add_fn<float>{a.data(), b.data(), y.data()});
    cpu.add(n, a.data(), b.data(), ye.data());
    CHECK(y == ye);
    std::vector<float> z(n, NAN);   // beta = 0 must not read y
    run(n, axpby_fn<float>{0.5f, 0.0f, a.data(), z.data()});
    for (std::size_t i = 0; i < n; ++i) CHECK(z[i] == 0.5f * a[i]);
    run(n, axpby_fn<float>{2.0f, -1.0f, b.data(), z.data()});
    for (std::size_t i = 0; i < n; ++i) CHECK(z[i] == Approx(2.0f * b[i] - 0.5f * a[i]));
    run(n, fill_fn<float>{3.0f, z.data()});
    CHECK(std::all_of(z.begin(), z.end(), [](float v) { return v == 3.0f; }));
  }
}

TEST_CASE("cuda functors: the augmentation kernel renders the Eigen policy's batch", "[cuda][functors][augment]") {
  // Random images, the seed's whole augmentation with mixup, planned on the host.
  rng g(41);
  const data::dataset set = testing::random_images(12, 40);
  data::augment_config cfg;
  cfg.affine = {15, 0.1, 0.1, 10, 0.1, true};
  cfg.crop_padding = 4;
  cfg.random_flip = true;
  cfg.cutout_size = 8;
  const std::vector<std::size_t> idx{5, 0, 11, 3, 3, 7};
  const data::batch_plan plan = data::plan_batch(idx, set.labels, cfg, 10, 0.1f, 0.4, g);
  const std::vector<float> norm = data::render_norm(data::channel_stats(set));
  const ops::render_geometry geo{};
  const std::size_t count = idx.size() * data::cifar10_image_bytes;
  std::vector<float> expect(count), got(count);
  exec::eigen<float>{}.render_batch(geo, int(idx.size()), plan.recipes.data(), set.pixels.data(), norm.data(),
                                    expect.data());
  run(count, render_fn<float>{geo, plan.recipes.data(), set.pixels.data(), norm.data(), got.data()});
  CHECK(got == expect);
  std::vector<__nv_bfloat16> half(count);
  run(count, render_fn<__nv_bfloat16>{geo, plan.recipes.data(), set.pixels.data(), norm.data(), half.data()});
  for (std::size_t i = 0; i < count; ++i) CHECK(static_cast<float>(half[i]) == static_cast<float>(__nv_bfloat16(expect[i])));
}

TEST_CASE("cuda functors: softmax cross-entropy with and without a loss scale", "[cuda][functors]") {
  const exec::eigen<double> cpu;
  const int n = 6, classes = 10;
  const auto logits = randf(std::size_t(n) * classes, 31, 3.0);
  std::vector<float> targets(std::size_t(n) * classes, 0.01f);
  for (int i = 0; i < n; ++i) targets[std::size_t(i) * classes + std::size_t(i % classes)] += 0.9f;
  const vec ld = wide(logits), td = wide(targets);
  vec de(ld.size());
  const double loss = cpu.softmax_cross_entropy(n, classes, ld.data(), td.data(), de.data());
  for (float scale : {1.0f, 1024.0f}) {
    loss_scale_state ls;
    ls.scale = scale;
    std::vector<float> d(ld.size());
    vec rows(n);
    run(n, softmax_xent_fn<float>{index_t(classes), 1.0 / n, logits.data(), targets.data(), d.data(), rows.data(),
                                  scale == 1.0f ? nullptr : &ls});
    CHECK(std::accumulate(rows.begin(), rows.end(), 0.0) / n == Approx(loss).epsilon(1e-12));
    vec dd = wide(d);
    for (double& v : dd) v /= scale;
    CNNZOO_CHECK_REL("dlogits", dd, de, 1e-6);
  }
}

TEST_CASE("cuda functors: device steps count loss, accuracy and bad steps; clip and update from GPU memory",
          "[cuda][functors][device_steps]") {
  const exec::eigen<float> cpu;
  const int n = 5, classes = 10;
  const auto logits = randf(std::size_t(n) * classes, 61, 3.0);
  std::vector<float> targets(std::size_t(n) * classes, 0.0f);
  std::vector<std::uint8_t> labels(n);
  for (int i = 0; i < n; ++i) {
    labels[std::size_t(i)] = static_cast<std::uint8_t>((3 * i) % classes);
    targets[std::size_t(i) * classes + labels[std::size_t(i)]] = 1.0f;
  }
  std::vector<float> d(logits.size());
  vec rows(n);
  std::vector<unsigned char> ok(n);
  run(n, softmax_xent_fn<float>{index_t(classes), 1.0 / n, logits.data(), targets.data(), d.data(), rows.data(),
                                nullptr, labels.data(), ok.data()});
  unsigned long long correct = 0;
  for (int i = 0; i < n; ++i) {
    const float* z = logits.data() + std::size_t(i) * classes;
    correct += static_cast<std::size_t>(std::max_element(z, z + classes) - z) == labels[std::size_t(i)];
  }
  device_step st;
  st.in.step = 7;
  run(1, step_finalize_fn{index_t(n), rows.data(), ok.data(), &st});
  CHECK(st.bad == 0);
  CHECK(st.totals.steps == 1);
  CHECK(st.totals.images == unsigned(n));
  CHECK(st.totals.correct == correct);
  CHECK(st.totals.loss_sum == Approx(std::accumulate(rows.begin(), rows.end(), 0.0)).epsilon(1e-15));

  SECTION("a non-finite loss marks the step bad, counts it once with its number, and blocks the update") {
    rows[2] = NAN;
    st.in.step = 8;
    run(1, step_finalize_fn{index_t(n), rows.data(), ok.data(), &st});
    st.in.step = 9;
    run(1, step_finalize_fn{index_t(n), rows.data(), ok.data(), &st});
    CHECK(st.bad == 1);
    CHECK(st.totals.bad_steps == 2);
    CHECK(st.totals.first_bad_step == 8);
    CHECK(std::isnan(st.totals.first_bad_loss));
    CHECK(st.totals.images == unsigned(n));   // only the good step's
    std::vector<float> w(10, 1.0f), v(10, 0.0f), g(10, 0.5f);
    run(10, sgd_fn<float>{w.data(), g.data(), v.data(), nullptr, nullptr, 0.1, 0.9, 0.0, 1.0, false, nullptr, &st});
    CHECK(w == std::vector<float>(10, 1.0f));
  }
  SECTION("the clipping factor and the learning rate come from the step state") {
    const std::size_t count = 300;
    const auto g = randf(count, 62);
    double total = 0;
    for (float x : g) total += double(x) * x;
    const vec partial{total * 0.25, total * 0.75};   // two blocks' sums
    st.in.lr = 0.02;
    run(1, clip_scale_fn{2, partial.data(), 1.5, nullptr, &st});
    const double norm = std::sqrt(total);
    CHECK(st.clip_scale == Approx(norm > 1.5 ? 1.5 / norm : 1.0).epsilon(1e-6));
    auto w = randf(count, 63), v = randf(count, 64, 0.1);
    auto we = w, ve = v;
    run(count, sgd_fn<float>{w.data(), g.data(), v.data(), nullptr, nullptr, 99.0, 0.9, 5e-4, 1.0, true, nullptr, &st,
                             true});
    cpu.sgd_update(count, we.data(), g.data(), ve.data(), nullptr, 0.02, 0.9, 5e-4, true, st.clip_scale);
    for (std::size_t i = 0; i < count; ++i) CHECK(w[i] == Approx(we[i]).epsilon(1e-6));
    loss_scale_state ls;
    ls.scale = 4.0f;
    const vec scaled{total * 16.0};
    run(1, clip_scale_fn{1, scaled.data(), 1.5, &ls, &st});   // sums of loss-scaled gradients
    CHECK(st.clip_scale == Approx(norm > 1.5 ? 1.5 / norm : 1.0).epsilon(1e-6));
  }
  SECTION("dropout and drop-path keys take the step's seed") {
    const std::size_t count = 2000;
    const auto x = randf(count, 65);
    std::vector<float> m0(count), m1(count), y(count), b0(count), b1(count);
    const std::uint64_t seed = 0x5EED;
    run(count, dropout_fn<float>{0.5f, 2.0f, 0x77, x.data(), m0.data(), y.data()});
    run(count, dropout_fn<float>{0.5f, 2.0f, 0x77, x.data(), m1.data(), y.data(), &seed});
    std::vector<float> me(count), ye(count);
    cpu.dropout_forward(count, 0.5f, 0x77 ^ seed, x.data(), me.data(), ye.data());
    CHECK(m1 == me);
    CHECK(m0 != m1);
    run(count, bernoulli_mask_fn<float>{0.3f, 1.0f, 0x99, b0.data(), &seed});
    cpu.bernoulli_mask(count, 0.3f, false, 0x99 ^ seed, b1.data());
    CHECK(b0 == b1);
  }
}

TEST_CASE("cuda functors: SGD, the compute-dtype copy and loss scaling", "[cuda][functors]") {
  const exec::eigen<float> cpu;
  const std::size_t n = 1000;
  auto w = randf(n, 41), v = randf(n, 42, 0.1);
  const auto g = randf(n, 43, 0.01);
  std::vector<float> mask(n);
  for (std::size_t i = 0; i < n; ++i) mask[i] = i % 3 ? 1.0f : 0.0f;
  auto we = w, ve = v;
  std::vector<__nv_bfloat16> work(n);
  run(n, sgd_fn<__nv_bfloat16>{w.data(), g.data(), v.data(), mask.data(), work.data(), 0.1, 0.9, 5e-4, 0.5, true,
                               nullptr});
  cpu.sgd_update(n, we.data(), g.data(), ve.data(), mask.data(), 0.1, 0.9, 5e-4, true, 0.5);
  CHECK(w == we);
  CHECK(v == ve);
  for (std::size_t i = 0; i < n; ++i) CHECK(static_cast<float>(work[i]) == static_cast<float>(__nv_bfloat16(w[i])));

  SECTION("scaled gradients are unscaled; a non-finite one skips the step and halves the scale") {
    loss_scale_state ls;
    ls.scale = 256.0f;
    ls.inv_scale = 1.0f / 256.0f;
    auto gs = g;
    for (float& x : gs) x *= 256.0f;
    auto w2 = w, v2 = v, w2e = w, v2e = v;
    run(n, nonfinite_check_fn{gs.data(), &ls});
    CHECK(ls.overflow == 0);
    run(n, sgd_fn<float>{w2.data(), gs.data(), v2.data(), nullptr, nullptr, 0.1, 0.9, 0.0, 1.0, false, &ls});
    cpu.sgd_update(n, w2e.data(), g.data(), v2e.data(), nullptr, 0.1, 0.9, 0.0, false, 1.0);
    CNNZOO_CHECK_REL("unscaled update", wide(w2), wide(w2e), 1e-7);
    run(1, loss_scale_update_fn{&ls, 2, true});
    CHECK(ls.scale == 256.0f);
    run(1, loss_scale_update_fn{&ls, 2, true});
    CHECK(ls.scale == 512.0f);   // two clean steps at interval 2: grow
    CHECK(ls.inv_scale == 1.0f / 512.0f);

    gs[17] = INFINITY;
    const auto w3 = w2;
    run(n, nonfinite_check_fn{gs.data(), &ls});
    CHECK(ls.overflow == 1);
    run(n, sgd_fn<float>{w2.data(), gs.data(), v2.data(), nullptr, nullptr, 0.1, 0.9, 0.0, 1.0, false, &ls});
    CHECK(w2 == w3);
    run(1, loss_scale_update_fn{&ls, 2, true});
    CHECK(ls.scale == 256.0f);
    CHECK(ls.overflow == 0);
    CHECK(ls.skipped_steps == 1);
  }
}

TEST_CASE("cuda functors: the loaded cuDNN is named and checked against the headers", "[cuda][functors]") {
  // No GPU needed: cudnnGetVersion reads the library the loader picked.
  const exec::cudnn_versions v = exec::cudnn_library();
  INFO(v.describe());
  CHECK(v.built == CUDNN_VERSION);
  CHECK(v.loaded / 10000 == CUDNN_MAJOR);
  CHECK_THAT(v.path, Catch::Contains("libcudnn"));
  CHECK_THAT(v.describe(), Catch::StartsWith("cuDNN " + exec::cudnn_versions::format(v.loaded) + " loaded from "));

  const auto rule = [](std::size_t built, std::size_t loaded) { return exec::cudnn_versions{built, loaded, ""}; };
  CHECK(rule(91900, 91900).supported());
  CHECK(rule(91400, 91900).supported());   // built against an older minor: NVIDIA supports it
  CHECK_FALSE(rule(91900, 91400).supported());
  CHECK_THAT(rule(91900, 91400).describe(),
             Catch::Contains("cuDNN 9.14.0 loaded, built against 9.19.0: NOT supported (older") &&
                 Catch::Contains("cuDNN >= 9.19.0"));
  CHECK_FALSE(rule(91900, 80906).supported());
  CHECK_THAT(rule(91900, 80906).describe(), Catch::Contains("another major version"));
}

TEST_CASE("cuda functors: only the bound gradients carry the fp16 loss scale", "[cuda][functors]") {
  std::vector<float> bound(100), other(100);
  scaled_gradients s{bound.data(), bound.size(), false};
  // Before any loss nothing is scaled, whatever the buffer.
  CHECK_FALSE(s.carries_scale(bound.data(), bound.size()));
  CHECK_FALSE(s.unscale_in_update(bound.data(), bound.size()));
  s.pending = true;   // softmax_cross_entropy or loss_and_accuracy ran
  SECTION("reads: the bound buffer and ranges inside it, nothing else") {
    CHECK(s.carries_scale(bound.data(), bound.size()));
    CHECK(s.carries_scale(bound.data() + 10, 20));
    CHECK_FALSE(s.carries_scale(other.data(), other.size()));
    CHECK_FALSE(s.carries_scale(bound.data() + 90, 20));   // runs past the end: not inside
  }
  SECTION("updates: the whole bound buffer is unscaled, another buffer is taken as it is") {
    CHECK(s.unscale_in_update(bound.data(), bound.size()));
    CHECK_FALSE(s.unscale_in_update(other.data(), other.size()));
  }
  SECTION("an update of part of the bound gradients while scaled is refused") {
    CHECK_THROWS_WITH(s.unscale_in_update(bound.data() + 10, 20),
                      Catch::Contains("part of the bound gradient buffer") && Catch::Contains("20 of 100"));
    CHECK_THROWS(s.unscale_in_update(bound.data() + 90, 20));
  }
  SECTION("nothing bound: nothing is ever unscaled") {
    const scaled_gradients none{nullptr, 0, true};
    CHECK_FALSE(none.carries_scale(other.data(), other.size()));
    CHECK_FALSE(none.unscale_in_update(other.data(), other.size()));
  }
}

TEST_CASE("cuda functors: 16-bit element types round as the host conversions do", "[cuda][functors]") {
  const auto x = randf(500, 51, 10.0);
  std::vector<__nv_bfloat16> b(x.size());
  std::vector<__half> h(x.size());
  std::vector<float> back(x.size());
  run(x.size(), convert_fn<float, __nv_bfloat16>{x.data(), b.data()});
  run(x.size(), convert_fn<__nv_bfloat16, float>{b.data(), back.data()});
  for (std::size_t i = 0; i < x.size(); ++i) CHECK(back[i] == static_cast<float>(__nv_bfloat16(x[i])));
  CNNZOO_CHECK_REL("bf16 rounding", wide(back), wide(x), 4e-3);
  run(x.size(), convert_fn<float, __half>{x.data(), h.data()});
  run(x.size(), convert_fn<__half, float>{h.data(), back.data()});
  CNNZOO_CHECK_REL("fp16 rounding", wide(back), wide(x), 5e-4);

  // A pooling and an activation pass in bf16 stay within bf16 rounding of the float result.
  const pool_geometry g{1, 2, 6, 6, 3, 3, 2, 2, 1, 1, 3, 3};
  const auto xb = to<__nv_bfloat16>(random_vector(72, 52));
  std::vector<__nv_bfloat16> yb(18);
  run(18, pool_forward_fn<__nv_bfloat16>{pool_kind::avg, g, xb.data(), yb.data()});
  std::vector<float> xf(72), yf(18);
  for (std::size_t i = 0; i < 72; ++i) xf[i] = static_cast<float>(xb[i]);
  run(18, pool_forward_fn<float>{pool_kind::avg, g, xf.data(), yf.data()});
  CNNZOO_CHECK_REL("bf16 average pool", widen(yb), wide(yf), 4e-3);
}

TEST_CASE("cuda functors: channel shuffle, broadcast scaling and Bernoulli masks match the Eigen policy",
          "[cuda][functors]") {
  const exec::eigen<float> cpu;
  const int n = 3, c = 12, hw = 10;
  const std::size_t count = std::size_t(n) * c * hw;
  const auto x = randf(count, 61), dy = randf(count, 62), s = randf(std::size_t(n) * c, 63);
  for (int groups : {1, 2, 3, 4, 12}) {
    std::vector<float> y(count), ye(count);
    run(count, shuffle_channels_fn<float>{index_t(c), index_t(hw), index_t(groups), x.data(), y.data()});
    cpu.shuffle_channels(n, c, hw, groups, x.data(), ye.data());
    INFO("groups " << groups);
    CHECK(y == ye);
  }
  std::vector<float> y(count), ye(count);
  run(count, scale_channels_fn<float>{index_t(hw), x.data(), s.data(), y.data()});
  cpu.scale_channels_forward(n, c, hw, x.data(), s.data(), ye.data());
  CHECK(y == ye);
  for (bool acc : {false, true}) {
    std::vector<float> dx(dy), dxe(dy), ds(n * c), dse(n * c);
    run(n * c, scale_channels_ds_fn<float>{index_t(hw), x.data(), dy.data(), ds.data()});
    run(count, scale_channels_dx_fn<float>{index_t(hw), s.data(), dy.data(), dx.data(), acc});
    cpu.scale_channels_backward(n, c, hw, x.data(), s.data(), dy.data(), dxe.data(), dse.data(), acc);
    CNNZOO_CHECK_REL("ds", wide(ds), wide(dse), 1e-6);
    CHECK(dx == dxe);
  }
  for (bool rescale : {false, true}) {
    std::vector<float> m(777), me(777);
    const float scale = rescale ? 1.0f / (1.0f - 0.2f) : 1.0f;
    run(m.size(), bernoulli_mask_fn<float>{0.2f, scale, 99, m.data()});
    cpu.bernoulli_mask(m.size(), 0.2f, rescale, 99, me.data());
    CHECK(m == me);
  }
}

TEST_CASE("cuda functors: channel pooling, spatial scaling and softmax match the Eigen policy", "[cuda][functors]") {
  const exec::eigen<float> cpu;
  const int n = 3, c = 7, hw = 11;
  const std::size_t count = std::size_t(n) * c * hw;
  const auto x = randf(count, 71), dy = randf(count, 72), s = randf(std::size_t(n) * hw, 73),
             dyp = randf(std::size_t(n) * hw, 74);
  for (pool_kind k : {pool_kind::max, pool_kind::avg}) {
    std::vector<float> y(n * hw), ye(n * hw), dx(count), dxe(count);
    run(n * hw, channel_pool_forward_fn<float>{k, index_t(c), index_t(hw), x.data(), y.data()});
    cpu.channel_pool_forward(k, n, c, hw, x.data(), ye.data());
    CNNZOO_CHECK_REL("channel pool", wide(y), wide(ye), 1e-6);
    run(n * hw, channel_pool_backward_fn<float>{k, index_t(c), index_t(hw), x.data(), dyp.data(), dx.data()});
    cpu.channel_pool_backward(k, n, c, hw, x.data(), dyp.data(), dxe.data());
    CNNZOO_CHECK_REL("channel pool backward", wide(dx), wide(dxe), 1e-6);
  }
  std::vector<float> y(count), ye(count);
  run(count, scale_spatial_fn<float>{index_t(c), index_t(hw), x.data(), s.data(), y.data()});
  cpu.scale_spatial_forward(n, c, hw, x.data(), s.data(), ye.data());
  CHECK(y == ye);
  for (bool acc : {false, true}) {
    std::vector<float> dx(dy), dxe(dy), ds(n * hw), dse(n * hw);
    run(n * hw, scale_spatial_ds_fn<float>{index_t(c), index_t(hw), x.data(), dy.data(), ds.data()});
    run(count, scale_spatial_dx_fn<float>{index_t(c), index_t(hw), s.data(), dy.data(), dx.data(), acc});
    cpu.scale_spatial_backward(n, c, hw, x.data(), s.data(), dy.data(), dxe.data(), dse.data(), acc);
    CNNZOO_CHECK_REL("ds", wide(ds), wide(dse), 1e-6);
    CHECK(dx == dxe);
  }
  for (const softmax_geometry g : {softmax_geometry{3, 1, 7, 11, softmax_over::channels},
                                   softmax_geometry{3, 7, 1, 11, softmax_over::channels},
                                   softmax_geometry{3, 2, 5, 4, softmax_over::groups},
                                   softmax_geometry{4, 3, 6, 1, softmax_over::channels},
                                   softmax_geometry{4, 3, 6, 1, softmax_over::groups}}) {
    const std::size_t total = std::size_t(g.n) * g.groups * g.c * g.hw;
    const auto z = randf(total, 75, 3.0), dz = randf(total, 76);
    const softmax_lines b = softmax_lines::of(g);
    std::vector<float> p(total), pe(total), dx(total), dxe(total);
    run(b.outer * b.inner, softmax_forward_fn<float>{b, z.data(), p.data()});
    cpu.softmax_forward(g, z.data(), pe.data());
    INFO("softmax n=" << g.n << " groups=" << g.groups << " c=" << g.c << " hw=" << g.hw
                      << (g.over == softmax_over::groups ? " over groups" : " over channels"));
    CNNZOO_CHECK_REL("softmax", wide(p), wide(pe), 1e-6);
    run(b.outer * b.inner, softmax_backward_fn<float>{b, pe.data(), dz.data(), dx.data()});
    cpu.softmax_backward(g, pe.data(), dz.data(), dxe.data());
    CNNZOO_CHECK_REL("softmax backward", wide(dx), wide(dxe), 1e-6);
  }
}
