// Every op of the CUDA policy against the fp64 Eigen policy on the same random inputs, in fp32,
// bf16 and fp16 (and tf32 where it applies: convolutions and dense layers): forward outputs and every gradient, within the precision's tolerance
// (gpu_support.hpp). Needs a GPU; skips without one.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include <cnnzoo/data/batch_plan.hpp>

#include "gpu_support.hpp"
#include "support/conv_cases.hpp"
#include "support/random_images.hpp"

using namespace cnnzoo;
using namespace cnnzoo::testing::gpu;
using ops::activation;
using ops::pool_kind;


TEMPLATE_TEST_CASE("cuda policy: conv2d forward and backward match the CPU", "[cuda][gpu][conv]", fp32, tf32, bf16,
                   fp16) {
  env<TestType> e;
  using tol = tolerance<TestType>;
  using T = typename env<TestType>::T;
  for (const auto& g : testing::policy_conv_cases()) {
    INFO(g.describe() << " in " << TestType::name);
    const std::size_t xs = std::size_t(g.n) * g.c * g.h * g.w, ys = std::size_t(g.n) * g.k * g.oh * g.ow;
    const std::size_t ws = std::size_t(g.k) * (g.c / g.groups) * g.kh * g.kw;
    const vec x = rounded<T>(random_vector(xs, 1)), w = rounded<T>(random_vector(ws, 2, 0.3));
    const vec b = rounded<float>(random_vector(g.k, 3)), dy = rounded<T>(random_vector(ys, 4));
    auto xd = e.act(x), dyd = e.act(dy);
    auto wd = e.weights(w), bd = e.weights(b);
    auto yd = e.zeros(ys), dxd = e.zeros(xs);
    auto dwd = e.dev.template allocate<float>(ws), dbd = e.dev.template allocate<float>(g.k);
    e.dev.conv2d_forward(g, xd.data(), wd.data(), g.bias ? bd.data() : nullptr, yd.data());
    e.dev.conv2d_backward(g, xd.data(), wd.data(), dyd.data(), dxd.data(), dwd.data(), g.bias ? dbd.data() : nullptr);
    vec y(ys), dx(xs), dw(ws), db(g.k);
    e.cpu.conv2d_forward(g, x.data(), w.data(), g.bias ? b.data() : nullptr, y.data());
    e.cpu.conv2d_backward(g, x.data(), w.data(), dy.data(), dx.data(), dw.data(), g.bias ? db.data() : nullptr);
    CNNZOO_CHECK_REL("y", e.get(yd), y, tol::conv);
    CNNZOO_CHECK_REL("dx", e.get(dxd), dx, tol::conv);
    CNNZOO_CHECK_REL("dw", e.get(dwd), dw, tol::conv);
    if (g.bias) CNNZOO_CHECK_REL("db", e.get(dbd), db, tol::reduction);
    // dx may be skipped.
    e.dev.conv2d_backward(g, xd.data(), wd.data(), dyd.data(), nullptr, dwd.data(), nullptr);
    CNNZOO_CHECK_REL("dw without dx", e.get(dwd), dw, tol::conv);
  }
}

TEST_CASE("cuda policy: a convolution geometry is searched once per process", "[cuda][gpu][conv]") {
  // A geometry no other test uses, so the first policy's search is this test's own.
  const ops::conv_geometry g{3, 5, 11, 9, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 11, 9, false};
  const auto run_once = [&] {
    env<fp32> e;
    auto x = e.act(random_vector(3 * 5 * 11 * 9, 71)), y = e.zeros(3 * 6 * 11 * 9), dy = e.act(random_vector(3 * 6 * 11 * 9, 72));
    auto w = e.weights(random_vector(6 * 5 * 9, 73)), dw = e.weights(vec(6 * 5 * 9, 0.0));
    auto dx = e.zeros(3 * 5 * 11 * 9);
    e.dev.conv2d_forward(g, x.data(), w.data(), nullptr, y.data());
    e.dev.conv2d_backward(g, x.data(), w.data(), dy.data(), dx.data(), dw.data(), nullptr);
    e.dev.synchronize();
    return e.get(y);
  };
  const std::size_t before = exec::cuda<fp32>::algorithm_searches();
  const vec first = run_once();
  const std::size_t after_first = exec::cuda<fp32>::algorithm_searches();
  CHECK(after_first >= before + 3);   // forward, backward data, backward filter (per alignment)
  const vec second = run_once();      // a new policy: the same choices, no search
  CHECK(exec::cuda<fp32>::algorithm_searches() == after_first);
  CHECK(second == first);
}

TEMPLATE_TEST_CASE("cuda policy: batch_norm matches the CPU in training and inference", "[cuda][gpu][bn]", fp32, bf16,
                   fp16) {
  env<TestType> e;
  using tol = tolerance<TestType>;
  using T = typename env<TestType>::T;
  for (const auto& g : {ops::batch_norm_geometry{4, 16, 49, 1e-5, 0.1}, ops::batch_norm_geometry{32, 24, 1, 1e-3, 0.01},
                        ops::batch_norm_geometry{64, 8, 256, 1e-5, 0.1}}) {
    for (bool training : {true, false}) {
      INFO("batch_norm n=" << g.n << " c=" << g.c << " hw=" << g.hw << (training ? " training" : " inference"));
      const std::size_t count = std::size_t(g.n) * g.c * g.hw;
      const vec x = rounded<T>(random_vector(count, 5, 2.0, 0.7)), dy = rounded<T>(random_vector(count, 6));
      const vec gamma = rounded<float>(random_vector(g.c, 7, 0.3, 1.0)), beta = rounded<float>(random_vector(g.c, 8));
      const vec rm0 = rounded<float>(random_vector(g.c, 9, 0.1)), rv0 = rounded<float>(random_vector(g.c, 10, 0.1, 1.5));
      auto xd = e.act(x), dyd = e.act(dy), yd = e.zeros(count), dxd = e.zeros(count);
      auto gd = e.weights(gamma), bd = e.weights(beta), rmd = e.weights(rm0), rvd = e.weights(rv0);
      auto smd = e.dev.template allocate<float>(g.c), sid = e.dev.template allocate<float>(g.c);
      auto dgd = e.dev.template allocate<float>(g.c), dbd = e.dev.template allocate<float>(g.c);
      e.dev.batch_norm_forward(g, training, xd.data(), gd.data(), bd.data(), rmd.data(), rvd.data(), smd.data(), sid.data(),
                               yd.data());
      e.dev.batch_norm_backward(g, training, xd.data(), gd.data(), smd.data(), sid.data(), dyd.data(), dxd.data(),
                                dgd.data(), dbd.data());
      vec y(count), dx(count), rm = rm0, rv = rv0, sm(g.c), si(g.c), dg(g.c), db(g.c);
      e.cpu.batch_norm_forward(g, training, x.data(), gamma.data(), beta.data(), rm.data(), rv.data(), sm.data(),
                               si.data(), y.data());
      e.cpu.batch_norm_backward(g, training, x.data(), gamma.data(), sm.data(), si.data(), dy.data(), dx.data(),
                                dg.data(), db.data());
      CNNZOO_CHECK_REL("y", e.get(yd), y, tol::reduction);
      CNNZOO_CHECK_REL("running mean", e.get(rmd), rm, 1e-5);
      CNNZOO_CHECK_REL("running var", e.get(rvd), rv, 1e-5);
      CNNZOO_CHECK_REL("saved 1/std", e.get(sid), si, 1e-5);
      CNNZOO_CHECK_REL("dx", e.get(dxd), dx, tol::reduction);
      CNNZOO_CHECK_REL("dgamma", e.get(dgd), dg, 1e-4);
      CNNZOO_CHECK_REL("dbeta", e.get(dbd), db, 1e-4);
    }
  }
}

TEMPLATE_TEST_CASE("cuda policy: activations, pooling and global pooling match the CPU", "[cuda][gpu][elementwise]", fp32,
                   bf16, fp16) {
  env<TestType> e;
  using tol = tolerance<TestType>;
  using T = typename env<TestType>::T;
  SECTION("activations") {
    const std::size_t n = 10007;
    const vec x = rounded<T>(random_vector(n, 11, 4.0)), dy = rounded<T>(random_vector(n, 12));
    auto xd = e.act(x), dyd = e.act(dy), yd = e.zeros(n), dxd = e.zeros(n);
    for (activation a : {activation::identity, activation::relu, activation::relu6, activation::sigmoid,
                         activation::hard_sigmoid, activation::swish, activation::hard_swish}) {
      INFO(ops::activation_name(a));
      e.dev.activation_forward(a, n, xd.data(), yd.data());
      e.dev.activation_backward(a, n, xd.data(), yd.data(), dyd.data(), dxd.data());
      vec y(n), dx(n);
      e.cpu.activation_forward(a, n, x.data(), y.data());
      e.cpu.activation_backward(a, n, x.data(), y.data(), dy.data(), dx.data());
      CNNZOO_CHECK_REL("y", e.get(yd), y, tol::elementwise);
      // sigmoid's derivative is taken from the stored (rounded) output.
      CNNZOO_CHECK_REL("dx", e.get(dxd), dx, 2 * tol::elementwise);
    }
  }
  SECTION("window pooling") {
    for (const auto& g : {ops::pool_geometry{4, 6, 8, 8, 2, 2, 2, 2, 0, 0, 4, 4},
                          ops::pool_geometry{3, 5, 9, 9, 3, 3, 2, 2, 1, 1, 5, 5},
                          ops::pool_geometry{2, 4, 8, 8, 3, 3, 1, 1, 1, 1, 8, 8}}) {
      const std::size_t in = std::size_t(g.n) * g.c * g.h * g.w, out = std::size_t(g.n) * g.c * g.oh * g.ow;
      const vec x = rounded<T>(random_vector(in, 13)), dy = rounded<T>(random_vector(out, 14));
      auto xd = e.act(x), dyd = e.act(dy), yd = e.zeros(out), dxd = e.zeros(in);
      for (pool_kind k : {pool_kind::max, pool_kind::avg}) {
        INFO((k == pool_kind::max ? "max" : "avg") << " pool " << g.kh << "x" << g.kw << " stride " << g.sh);
        e.dev.pool_forward(k, g, xd.data(), yd.data());
        e.dev.pool_backward(k, g, xd.data(), dyd.data(), dxd.data());
        vec y(out), dx(in);
        e.cpu.pool_forward(k, g, x.data(), y.data());
        e.cpu.pool_backward(k, g, x.data(), dy.data(), dx.data());
        CNNZOO_CHECK_REL("y", e.get(yd), y, tol::elementwise);
        CNNZOO_CHECK_REL("dx", e.get(dxd), dx, tol::elementwise);
      }
    }
  }
  SECTION("global pooling") {
    const int n = 8, c = 24, hw = 64;
    const vec x = rounded<T>(random_vector(std::size_t(n) * c * hw, 15)), dy = rounded<T>(random_vector(n * c, 16));
    auto xd = e.act(x), dyd = e.act(dy), yd = e.zeros(n * c), dxd = e.zeros(std::size_t(n) * c * hw);
    for (pool_kind k : {pool_kind::max, pool_kind::avg}) {
      e.dev.global_pool_forward(k, n, c, hw, xd.data(), yd.data());
      e.dev.global_pool_backward(k, n, c, hw, xd.data(), dyd.data(), dxd.data());
      vec y(n * c), dx(std::size_t(n) * c * hw);
      e.cpu.global_pool_forward(k, n, c, hw, x.data(), y.data());
      e.cpu.global_pool_backward(k, n, c, hw, x.data(), dy.data(), dx.data());
      CNNZOO_CHECK_REL("y", e.get(yd), y, tol::elementwise);
      CNNZOO_CHECK_REL("dx", e.get(dxd), dx, tol::elementwise);
    }
  }
}

TEMPLATE_TEST_CASE("cuda policy: dense and flatten match the CPU", "[cuda][gpu][dense]", fp32, tf32, bf16, fp16) {
  env<TestType> e;
  using tol = tolerance<TestType>;
  using T = typename env<TestType>::T;
  for (bool bias : {true, false}) {
    const int n = 17, in = 96, out = 10;
    const vec x = rounded<T>(random_vector(std::size_t(n) * in, 21)), w = rounded<T>(random_vector(std::size_t(out) * in, 22, 0.1));
    const vec b = rounded<float>(random_vector(out, 23)), dy = rounded<T>(random_vector(std::size_t(n) * out, 24));
    auto xd = e.act(x), dyd = e.act(dy), wd = e.weights(w), bd = e.weights(b);
    auto yd = e.zeros(std::size_t(n) * out), dxd = e.zeros(std::size_t(n) * in);
    auto dwd = e.dev.template allocate<float>(std::size_t(out) * in), dbd = e.dev.template allocate<float>(out);
    e.dev.dense_forward(n, in, out, xd.data(), wd.data(), bias ? bd.data() : nullptr, yd.data());
    e.dev.dense_backward(n, in, out, xd.data(), wd.data(), dyd.data(), dxd.data(), dwd.data(), bias ? dbd.data() : nullptr);
    vec y(std::size_t(n) * out), dx(std::size_t(n) * in), dw(std::size_t(out) * in), db(out);
    e.cpu.dense_forward(n, in, out, x.data(), w.data(), bias ? b.data() : nullptr, y.data());
    e.cpu.dense_backward(n, in, out, x.data(), w.data(), dy.data(), dx.data(), dw.data(), bias ? db.data() : nullptr);
    CNNZOO_CHECK_REL("y", e.get(yd), y, tol::conv);
    CNNZOO_CHECK_REL("dx", e.get(dxd), dx, tol::conv);
    CNNZOO_CHECK_REL("dw", e.get(dwd), dw, tol::reduction);
    if (bias) CNNZOO_CHECK_REL("db", e.get(dbd), db, tol::reduction);
  }
  const vec x = rounded<T>(random_vector(2 * 8 * 9, 25));
  auto xd = e.act(x), yd = e.zeros(x.size());
  e.dev.flatten_forward(2, 8, 9, xd.data(), yd.data());
  CHECK(e.get(yd) == x);
}

TEMPLATE_TEST_CASE("cuda policy: elementwise ops, channel blocks and dropout match the CPU", "[cuda][gpu][elementwise]",
                   fp32, bf16, fp16) {
  env<TestType> e;
  using tol = tolerance<TestType>;
  using T = typename env<TestType>::T;
  const std::size_t n = 5000;
  const vec a = rounded<T>(random_vector(n, 31)), b = rounded<T>(random_vector(n, 32));
  auto ad = e.act(a), bd = e.act(b), yd = e.zeros(n);
  vec y(n);
  e.dev.copy(n, ad.data(), yd.data());
  CHECK(e.get(yd) == a);
  e.dev.add(n, ad.data(), bd.data(), yd.data());
  e.cpu.add(n, a.data(), b.data(), y.data());
  CNNZOO_CHECK_REL("add", e.get(yd), y, tol::elementwise);
  e.dev.axpby(n, T(0.5f), ad.data(), T(-2.0f), yd.data());
  e.cpu.axpby(n, 0.5, a.data(), -2.0, y.data());
  CNNZOO_CHECK_REL("axpby", e.get(yd), y, 2 * tol::elementwise);
  e.dev.axpby(n, T(1.0f), bd.data(), T(0.0f), yd.data());
  CHECK(e.get(yd) == b);
  e.dev.fill(n, T(0.25f), yd.data());
  CHECK(e.get(yd) == vec(n, 0.25));
  e.dev.multiply(n, ad.data(), bd.data(), yd.data());
  e.cpu.multiply(n, a.data(), b.data(), y.data());
  CNNZOO_CHECK_REL("multiply", e.get(yd), y, tol::elementwise);

  SECTION("copy_channels, plain and accumulating") {
    const ops::channel_copy blk{3, 20, 6, 2, 9, 5, 4};
    const vec src = rounded<T>(random_vector(3 * 6 * 20, 33)), dst0 = rounded<T>(random_vector(3 * 9 * 20, 34));
    auto sd = e.act(src);
    for (bool acc : {false, true}) {
      auto dd = e.act(dst0);
      vec dst = dst0;
      e.dev.copy_channels(blk, sd.data(), dd.data(), acc);
      e.cpu.copy_channels(blk, src.data(), dst.data(), acc);
      CNNZOO_CHECK_REL(acc ? "accumulate" : "copy", e.get(dd), dst, tol::elementwise);
    }
  }
  SECTION("dropout draws the CPU's mask") {
    auto md = e.zeros(n);
    e.dev.dropout_forward(n, 0.3f, 0xABCDEF, ad.data(), md.data(), yd.data());
    vec m(n);
    e.cpu.dropout_forward(n, 0.3f, 0xABCDEF, a.data(), m.data(), y.data());
    const vec mg = e.get(md);
    std::size_t differ = 0;
    for (std::size_t i = 0; i < n; ++i) differ += (mg[i] == 0) != (m[i] == 0);
    CHECK(differ == 0);
    CNNZOO_CHECK_REL("dropout y", e.get(yd), y, tol::elementwise);
  }
}

TEMPLATE_TEST_CASE("cuda policy: augmentation on the GPU renders the CPU's batch", "[cuda][gpu][augment]", fp32, bf16,
                   fp16) {
  env<TestType> e;
  using tol = tolerance<TestType>;
  rng g(51);
  const data::dataset set = testing::random_images(20, 50);
  data::augment_config cfg;
  cfg.affine = {15, 0.1, 0.1, 10, 0.1, true};
  cfg.crop_padding = 4;
  cfg.random_flip = true;
  cfg.cutout_size = 16;
  const std::vector<std::size_t> idx{19, 0, 4, 4, 13, 8, 2, 17};
  const data::batch_plan plan = data::plan_batch(idx, set.labels, cfg, 10, 0.1f, 0.2, g);
  const std::vector<float> norm = data::render_norm(data::channel_stats(set));
  const int n = static_cast<int>(idx.size());
  const std::size_t count = idx.size() * data::cifar10_image_bytes;
  auto pixels = e.put(set.pixels);
  auto recipes = e.put(plan.recipes);
  auto normd = e.put(norm);
  auto out = e.zeros(count);
  e.dev.render_batch(ops::render_geometry{}, n, recipes.data(), pixels.data(), normd.data(), out.data());
  vec expect(count);
  e.cpu.render_batch(ops::render_geometry{}, n, plan.recipes.data(), set.pixels.data(), norm.data(), expect.data());
  CNNZOO_CHECK_REL("render_batch", e.get(out), expect, tol::elementwise);
}

TEMPLATE_TEST_CASE("cuda policy: channel shuffle, broadcast scaling, masks, channel pooling and softmax match the CPU",
                   "[cuda][gpu][attention]", fp32, bf16, fp16) {
  env<TestType> e;
  using tol = tolerance<TestType>;
  using T = typename env<TestType>::T;
  const int n = 4, c = 24, hw = 49;
  const std::size_t count = std::size_t(n) * c * hw;
  const vec x = rounded<T>(random_vector(count, 61)), dy = rounded<T>(random_vector(count, 62));
  const vec s = rounded<T>(random_vector(std::size_t(n) * c, 63)), sp = rounded<T>(random_vector(std::size_t(n) * hw, 64));
  const vec dyp = rounded<T>(random_vector(std::size_t(n) * hw, 65));
  auto xd = e.act(x), dyd = e.act(dy), sd = e.act(s), spd = e.act(sp), dypd = e.act(dyp);
  auto yd = e.zeros(count);
  vec y(count);
  for (int groups : {2, 3, 8}) {
    e.dev.shuffle_channels(n, c, hw, groups, xd.data(), yd.data());
    e.cpu.shuffle_channels(n, c, hw, groups, x.data(), y.data());
    CHECK(e.get(yd) == y);
  }
  e.dev.scale_channels_forward(n, c, hw, xd.data(), sd.data(), yd.data());
  e.cpu.scale_channels_forward(n, c, hw, x.data(), s.data(), y.data());
  CNNZOO_CHECK_REL("scale_channels", e.get(yd), y, tol::elementwise);
  e.dev.scale_spatial_forward(n, c, hw, xd.data(), spd.data(), yd.data());
  e.cpu.scale_spatial_forward(n, c, hw, x.data(), sp.data(), y.data());
  CNNZOO_CHECK_REL("scale_spatial", e.get(yd), y, tol::elementwise);
  for (bool acc : {false, true}) {
    auto dxd = e.act(x), dsd = e.zeros(std::size_t(n) * c), dspd = e.zeros(std::size_t(n) * hw);
    vec dx = x, ds(std::size_t(n) * c), dsp(std::size_t(n) * hw);
    e.dev.scale_channels_backward(n, c, hw, xd.data(), sd.data(), dyd.data(), dxd.data(), dsd.data(), acc);
    e.cpu.scale_channels_backward(n, c, hw, x.data(), s.data(), dy.data(), dx.data(), ds.data(), acc);
    CNNZOO_CHECK_REL("scale_channels dx", e.get(dxd), dx, 2 * tol::elementwise);
    CNNZOO_CHECK_REL("scale_channels ds", e.get(dsd), ds, tol::reduction);
    e.dev.scale_spatial_backward(n, c, hw, xd.data(), spd.data(), dyd.data(), dxd.data(), dspd.data(), acc);
    e.cpu.scale_spatial_backward(n, c, hw, x.data(), sp.data(), dy.data(), dx.data(), dsp.data(), acc);
    CNNZOO_CHECK_REL("scale_spatial dx", e.get(dxd), dx, 2 * tol::elementwise);
    CNNZOO_CHECK_REL("scale_spatial ds", e.get(dspd), dsp, tol::reduction);
  }
  for (pool_kind k : {pool_kind::max, pool_kind::avg}) {
    auto pd = e.zeros(std::size_t(n) * hw), dxd = e.zeros(count);
    vec p(std::size_t(n) * hw), dx(count);
    e.dev.channel_pool_forward(k, n, c, hw, xd.data(), pd.data());
    e.dev.channel_pool_backward(k, n, c, hw, xd.data(), dypd.data(), dxd.data());
    e.cpu.channel_pool_forward(k, n, c, hw, x.data(), p.data());
    e.cpu.channel_pool_backward(k, n, c, hw, x.data(), dyp.data(), dx.data());
    CNNZOO_CHECK_REL("channel_pool", e.get(pd), p, tol::elementwise);
    CNNZOO_CHECK_REL("channel_pool dx", e.get(dxd), dx, tol::elementwise);
  }
  auto md = e.zeros(64);
  vec m(64);
  e.dev.bernoulli_mask(64, 0.25f, true, 1234, md.data());
  e.cpu.bernoulli_mask(64, 0.25f, true, 1234, m.data());
  CNNZOO_CHECK_REL("bernoulli mask", e.get(md), m, tol::elementwise);
  for (const ops::softmax_geometry g : {ops::softmax_geometry{4, 1, 24, 49, ops::softmax_over::channels},
                                         ops::softmax_geometry{4, 3, 8, 1, ops::softmax_over::groups}}) {
    const std::size_t total = std::size_t(g.n) * g.groups * g.c * g.hw;
    const vec z = rounded<T>(random_vector(total, 66, 2.0));
    auto zd = e.act(z), pd = e.zeros(total), dxd = e.zeros(total);
    vec p(total), dx(total);
    e.dev.softmax_forward(g, zd.data(), pd.data());
    e.cpu.softmax_forward(g, z.data(), p.data());
    CNNZOO_CHECK_REL("softmax", e.get(pd), p, tol::elementwise);
    const vec pr = e.get(pd);   // the backward pass starts from the stored output on both sides
    e.dev.softmax_backward(g, pd.data(), dyd.data(), dxd.data());
    e.cpu.softmax_backward(g, pr.data(), vec(dy.begin(), dy.begin() + std::ptrdiff_t(total)).data(), dx.data());
    CNNZOO_CHECK_REL("softmax dx", e.get(dxd), dx, tol::reduction);
  }
}

TEMPLATE_TEST_CASE("cuda policy: loss, sum of squares and SGD match the CPU", "[cuda][gpu][train]", fp32, bf16, fp16) {
  env<TestType> e;
  using tol = tolerance<TestType>;
  using T = typename env<TestType>::T;
  const int n = 37, classes = 10;
  const vec z = rounded<T>(random_vector(std::size_t(n) * classes, 41, 3.0));
  vec t(std::size_t(n) * classes, 0.01);
  for (int i = 0; i < n; ++i) t[std::size_t(i) * classes + std::size_t(i * 7 % classes)] += 0.9;
  t = rounded<T>(t);
  auto zd = e.act(z), td = e.act(t), dd = e.zeros(z.size());
  const double loss = e.dev.softmax_cross_entropy(n, classes, zd.data(), td.data(), dd.data());
  vec d(z.size());
  const double expect = e.cpu.softmax_cross_entropy(n, classes, z.data(), t.data(), d.data());
  CHECK(loss == Approx(expect).epsilon(1e-9));
  vec dg = e.get(dd);
  for (double& v : dg) v /= e.dev.loss_scale();   // fp16 scales dlogits
  CNNZOO_CHECK_REL("dlogits", dg, d, tol::elementwise);

  const std::size_t count = 100003;
  const vec w0 = rounded<float>(random_vector(count, 42)), g = rounded<float>(random_vector(count, 43, 0.01));
  auto gd = e.weights(g);
  double ss = 0;
  for (double v : g) ss += v * v;
  CHECK(e.dev.sum_of_squares(count, gd.data()) == Approx(ss).epsilon(1e-6));
  CHECK(e.dev.sum_of_squares(n * classes, zd.data()) == Approx([&] {
          double s = 0;
          for (double v : z) s += v * v;
          return s;
        }()).epsilon(1e-6));

  // Unbound buffers: a plain update with no loss scale, as the CPU's.
  auto wd = e.weights(w0), vd = e.dev.template allocate<float>(count);
  vec mask(count);
  for (std::size_t i = 0; i < count; ++i) mask[i] = i % 5 ? 1.0 : 0.0;
  auto maskd = e.weights(mask);
  vec w = w0, v(count, 0.0);
  for (int step = 0; step < 3; ++step) {
    e.dev.sgd_update(count, wd.data(), gd.data(), vd.data(), maskd.data(), 0.1, 0.9, 5e-4, true, 0.5);
    e.cpu.sgd_update(count, w.data(), g.data(), v.data(), mask.data(), 0.1, 0.9, 5e-4, true, 0.5);
  }
  CNNZOO_CHECK_REL("weights", e.get(wd), w, 1e-6);
  CNNZOO_CHECK_REL("momentum", e.get(vd), v, 1e-6);
}

TEMPLATE_TEST_CASE("cuda policy: bound parameters are read from the compute-dtype copy, kept current by SGD",
                   "[cuda][gpu][train]", fp32, bf16, fp16) {
  env<TestType> e;
  using tol = tolerance<TestType>;
  using T = typename env<TestType>::T;
  const int n = 5, in = 64, out = 10;
  const std::size_t count = std::size_t(out) * in + out;
  const vec p0 = rounded<float>(random_vector(count, 51, 0.1)), g = rounded<float>(random_vector(count, 52));
  auto params = e.weights(p0), grads = e.weights(g), vel = e.dev.template allocate<float>(count);
  e.dev.bind_parameters(params.data(), grads.data(), count);
  e.dev.upload(params.data(), std::vector<float>(p0.begin(), p0.end()).data(), count);   // marks the copy stale
  const vec x = rounded<T>(random_vector(std::size_t(n) * in, 53));
  auto xd = e.act(x), yd = e.zeros(std::size_t(n) * out);
  const auto check = [&](const vec& p, const char* what) {
    e.dev.dense_forward(n, in, out, xd.data(), params.data(), params.data() + std::size_t(out) * in, yd.data());
    const vec wr = rounded<T>(vec(p.begin(), p.begin() + std::ptrdiff_t(out) * in));
    const vec br(p.begin() + std::ptrdiff_t(out) * in, p.end());
    vec y(std::size_t(n) * out);
    e.cpu.dense_forward(n, in, out, x.data(), wr.data(), br.data(), y.data());
    CNNZOO_CHECK_REL(what, e.get(yd), y, tol::conv);
  };
  check(p0, "after upload");
  e.dev.sgd_update(count, params.data(), grads.data(), vel.data(), nullptr, 0.1, 0.9, 0.0, false, 1.0);
  vec p = p0, v(count, 0.0);
  e.cpu.sgd_update(count, p.data(), g.data(), v.data(), nullptr, 0.1, 0.9, 0.0, false, 1.0);
  check(p, "after sgd_update");
}

// The dynamic fp16 loss scale on its own, with an injected overflow: every other fp16 test runs
// at a fixed scale, so that an overflow in one of two compared runs cannot break a comparison.
TEST_CASE("cuda policy: the dynamic fp16 loss scale skips an overflowing step, backs off and grows",
          "[cuda][gpu][train]") {
  exec::cuda_options o;
  o.loss_scale = 1024;
  o.loss_scale_growth_interval = 2;
  env<fp16> e(o);
  const int n = 4, classes = 10;
  const std::size_t count = 777;
  const vec p0 = rounded<float>(random_vector(count, 61, 0.1)), g = rounded<float>(random_vector(count, 62, 0.01));
  auto params = e.weights(p0), grads = e.weights(vec(count, 0.0)), vel = e.weights(vec(count, 0.0));
  e.dev.bind_parameters(params.data(), grads.data(), count);
  auto zd = e.act(random_vector(std::size_t(n) * classes, 63)), td = e.act(vec(std::size_t(n) * classes, 0.1));
  auto dd = e.zeros(std::size_t(n) * classes);
  vec p = p0, v(count, 0.0);
  // One step as network<> runs it: the loss (which scales), gradients written scaled, the update.
  const auto step = [&](const vec& grad, bool overflow) {
    (void)e.dev.softmax_cross_entropy(n, classes, zd.data(), td.data(), dd.data());
    std::vector<float> scaled(count);
    for (std::size_t i = 0; i < count; ++i) scaled[i] = static_cast<float>(grad[i] * e.dev.loss_scale());
    if (overflow) scaled[123] = INFINITY;
    e.dev.upload(grads.data(), scaled.data(), count);
    e.dev.sgd_update(count, params.data(), grads.data(), vel.data(), nullptr, 0.1, 0.9, 0.0, false, 1.0);
    if (!overflow) e.cpu.sgd_update(count, p.data(), grad.data(), v.data(), nullptr, 0.1, 0.9, 0.0, false, 1.0);
  };
  step(g, false);
  CHECK(e.dev.loss_scale() == 1024);
  step(g, false);
  CHECK(e.dev.loss_scale() == 2048);   // two clean steps at growth interval 2
  CNNZOO_CHECK_REL("parameters after two clean steps", e.get(params), p, 1e-6);
  step(g, true);
  CHECK(e.dev.skipped_steps() == 1);
  CHECK(e.dev.loss_scale() == 1024);   // backed off
  CNNZOO_CHECK_REL("parameters after the skipped step", e.get(params), p, 1e-6);
  CNNZOO_CHECK_REL("momentum after the skipped step", e.get(vel), v, 1e-6);
  step(g, false);
  CNNZOO_CHECK_REL("parameters after a step at the lower scale", e.get(params), p, 1e-6);
}

TEST_CASE("cuda policy: failures name the op, the shapes and the sizes", "[cuda][gpu][errors]") {
  CHECK_THROWS_WITH(exec::cuda<fp32>(exec::cuda_options{.device = 99}), Catch::Contains("device 99"));
  exec::cuda<bf16> dev;
  try {
    (void)dev.allocate<float>(std::size_t{1} << 42);   // 16 TiB
    FAIL("no out-of-memory error");
  } catch (const exec::cuda_out_of_memory& e) {
    CHECK(e.requested() == (std::size_t{1} << 44));
    CHECK_THAT(e.what(), Catch::Contains("out of memory") && Catch::Contains("MiB"));
  }
  // A geometry whose output size the layer got wrong.
  ops::conv_geometry g{1, 3, 8, 8, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 7, 7, false};
  auto x = dev.allocate<__nv_bfloat16>(3 * 64), y = dev.allocate<__nv_bfloat16>(4 * 64);
  auto w = dev.allocate<float>(4 * 27);
  CHECK_THROWS_WITH(dev.conv2d_forward(g, x.data(), w.data(), nullptr, y.data()), Catch::Contains("conv2d 1x3x8x8"));
}
