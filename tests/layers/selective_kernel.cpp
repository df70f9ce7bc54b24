// The selective-kernel unit (two grouped branches fused by a softmax attention) against a naive
// loop in double, in training and inference mode, with the seed's softmax (over each branch's
// channels) and the paper's (over the branches); parameter counts; gradients by finite
// differences.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include <cnnzoo/cnnzoo.hpp>
#include <cnnzoo/exec/eigen.hpp>
#include <cnnzoo/layers/selective_kernel.hpp>

#include "support/gradcheck.hpp"

using namespace cnnzoo;
using ops::softmax_over;

namespace {

struct tensor4 {
  int n, c, h, w;
  std::vector<double> v;
  tensor4(int n_, int c_, int h_, int w_) : n(n_), c(c_), h(h_), w(w_), v(static_cast<std::size_t>(n_) * c_ * h_ * w_) {}
  double& operator()(int i, int ch, int r, int s) { return v[((static_cast<std::size_t>(i) * c + ch) * h + r) * w + s]; }
};

// Grouped, strided, dilated "same" convolution without bias.
tensor4 conv(tensor4& x, const double* wt, int out, int k, int stride, int dil, int groups) {
  const int pad = dil * (k - 1) / 2, oh = (x.h + 2 * pad - dil * (k - 1) - 1) / stride + 1;
  const int ow = (x.w + 2 * pad - dil * (k - 1) - 1) / stride + 1, cg = x.c / groups, kg = out / groups;
  tensor4 y(x.n, out, oh, ow);
  for (int i = 0; i < x.n; ++i)
    for (int o = 0; o < out; ++o)
      for (int r = 0; r < oh; ++r)
        for (int s = 0; s < ow; ++s) {
          double acc = 0;
          for (int cl = 0; cl < cg; ++cl)
            for (int u = 0; u < k; ++u)
              for (int v = 0; v < k; ++v) {
                const int rr = r * stride - pad + u * dil, ss = s * stride - pad + v * dil;
                if (rr < 0 || rr >= x.h || ss < 0 || ss >= x.w) continue;
                acc += wt[((o * cg + cl) * k + u) * k + v] * x(i, (o / kg) * cg + cl, rr, ss);
              }
          y(i, o, r, s) = acc;
        }
  return y;
}

// BatchNorm over (n, h, w) per channel: batch statistics (biased variance) when training, else
// the running ones; eps 1e-5.
void batch_norm(tensor4& x, const double* gamma, const double* beta, const double* mean, const double* var,
                bool training) {
  for (int ch = 0; ch < x.c; ++ch) {
    double m = mean[ch], v = var[ch];
    if (training) {
      const double count = double(x.n) * x.h * x.w;
      m = v = 0;
      for (int i = 0; i < x.n; ++i)
        for (int r = 0; r < x.h; ++r)
          for (int s = 0; s < x.w; ++s) m += x(i, ch, r, s) / count;
      for (int i = 0; i < x.n; ++i)
        for (int r = 0; r < x.h; ++r)
          for (int s = 0; s < x.w; ++s) v += (x(i, ch, r, s) - m) * (x(i, ch, r, s) - m) / count;
    }
    for (int i = 0; i < x.n; ++i)
      for (int r = 0; r < x.h; ++r)
        for (int s = 0; s < x.w; ++s)
          x(i, ch, r, s) = gamma[ch] * (x(i, ch, r, s) - m) / std::sqrt(v + 1e-5) + beta[ch];
  }
}

void relu(tensor4& x) {
  for (double& e : x.v) e = std::max(e, 0.0);
}

// Pointers to the parameters and the state of a network, in describe() order.
template <class Net>
std::vector<const double*> tensors_of(Net& net, bool state) {
  std::vector<const double*> out;
  for (const auto& e : net.tensors())
    if (e.is_state == state) out.push_back((state ? net.state() : net.params()) + e.offset);
  return out;
}

template <sk_args A, shape In>
void check_against_naive(int n) {
  using M = testing::as_model<selective_kernel<A>, In>;
  using net_t = network<M, exec::eigen<double>>;
  constexpr int c = In.c, z = std::max(In.c / A.reduction, A.min_hidden), k1 = A.stride == 1 ? 3 : 5;
  constexpr int d1 = A.stride == 1 ? 2 : 1;
  STATIC_REQUIRE(net_t::param_count() ==
                 std::size_t(c * (c / A.groups) * (9 + k1 * k1) + 4 * c + c * z + 2 * z + 2 * c * z + 2 * c));
  net_t net(n, 7);
  rng g(17);
  for (std::size_t i = 0; i < net_t::param_count(); ++i) net.params()[i] += 0.3 * g.normal();
  for (std::size_t i = 0; i < net_t::state_count(); ++i) net.state()[i] = 0.5 + std::abs(g.normal());
  for (std::size_t i = 0; i < n * In.size(); ++i) net.input()[i] = g.normal();
  for (bool training : {true, false}) {
    const std::vector<double> state(net.state(), net.state() + net_t::state_count());
    net.set_training(training);
    const double* y = net.forward(n);
    const auto p = tensors_of(net, false);
    const std::vector<const double*> s{state.data(), state.data() + c, state.data() + 2 * c, state.data() + 3 * c,
                                       state.data() + 4 * c, state.data() + 4 * c + z};
    tensor4 x(n, In.c, In.h, In.w);
    std::copy_n(net.input(), x.v.size(), x.v.begin());
    // p: conv0, gamma0, beta0, conv1, gamma1, beta1, fc1, gamma, beta, fc2, bias2
    tensor4 u0 = conv(x, p[0], c, 3, A.stride, 1, A.groups);
    batch_norm(u0, p[1], p[2], s[0], s[1], training);
    relu(u0);
    tensor4 u1 = conv(x, p[3], c, k1, A.stride, d1, A.groups);
    batch_norm(u1, p[4], p[5], s[2], s[3], training);
    relu(u1);
    const int hw = u0.h * u0.w;
    tensor4 pooled(n, c, 1, 1), hid(n, z, 1, 1), logits(n, 2 * c, 1, 1);
    for (int i = 0; i < n; ++i)
      for (int ch = 0; ch < c; ++ch)
        for (int q = 0; q < hw; ++q) pooled(i, ch, 0, 0) += (u0.v[(i * c + ch) * hw + q] + u1.v[(i * c + ch) * hw + q]) / hw;
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < z; ++j)
        for (int ch = 0; ch < c; ++ch) hid(i, j, 0, 0) += p[6][j * c + ch] * pooled(i, ch, 0, 0);
    batch_norm(hid, p[7], p[8], s[4], s[5], training);
    relu(hid);
    for (int i = 0; i < n; ++i)
      for (int o = 0; o < 2 * c; ++o) {
        logits(i, o, 0, 0) = p[10][o];
        for (int j = 0; j < z; ++j) logits(i, o, 0, 0) += p[9][o * z + j] * hid(i, j, 0, 0);
      }
    double worst = 0;
    for (int i = 0; i < n; ++i)
      for (int ch = 0; ch < c; ++ch) {
        double a0, a1;
        if (A.over == softmax_over::groups) {          // the paper: over the branches
          const double e0 = std::exp(logits(i, ch, 0, 0)), e1 = std::exp(logits(i, c + ch, 0, 0));
          a0 = e0 / (e0 + e1);
          a1 = e1 / (e0 + e1);
        } else {                                       // the seed: over each branch's channels
          double s0 = 0, s1 = 0;
          for (int o = 0; o < c; ++o) { s0 += std::exp(logits(i, o, 0, 0)); s1 += std::exp(logits(i, c + o, 0, 0)); }
          a0 = std::exp(logits(i, ch, 0, 0)) / s0;
          a1 = std::exp(logits(i, c + ch, 0, 0)) / s1;
        }
        for (int q = 0; q < hw; ++q) {
          const int at = (i * c + ch) * hw + q;
          worst = std::max(worst, std::abs(y[at] - (u0.v[at] * a0 + u1.v[at] * a1)));
        }
      }
    INFO("training " << training);
    CHECK(worst < 1e-11);
    std::copy(state.begin(), state.end(), net.state());
  }
}

constexpr sk_args tiny1{.stride = 1, .groups = 2, .reduction = 2, .min_hidden = 3};
constexpr sk_args tiny2{.stride = 2, .groups = 2, .reduction = 2, .min_hidden = 3};
constexpr sk_args tiny1_paper{.stride = 1, .groups = 2, .reduction = 2, .min_hidden = 3, .over = softmax_over::groups};
constexpr sk_args tiny2_paper{.stride = 2, .groups = 4, .reduction = 1, .min_hidden = 2, .over = softmax_over::groups};
using sk1 = testing::as_model<selective_kernel<tiny1>, shape{4, 5, 5}>;
using sk2 = testing::as_model<selective_kernel<tiny2>, shape{4, 6, 6}>;
using sk1_paper = testing::as_model<selective_kernel<tiny1_paper>, shape{4, 5, 5}>;
using sk2_paper = testing::as_model<selective_kernel<tiny2_paper>, shape{4, 6, 6}>;

}  // namespace

// The seed's first SK unit (64 channels, 32 groups, z = 32): two grouped convs with BN, dense
// 64 -> 32 (no bias) + BN, dense 32 -> 2 x 64 with biases.
static_assert(trainable_params<testing::as_model<selective_kernel<>, shape{64, 32, 32}>> ==
              64 * 2 * 9 * 2 + 2 * 2 * 64 + 64 * 32 + 2 * 32 + 2 * 64 * 32 + 2 * 64);
static_assert(bind_t<selective_kernel<sk_args{.stride = 2}>, shape{128, 32, 32}>::out == shape{128, 16, 16});
// The last SK unit: z = 512 / 16.
static_assert(bind_t<selective_kernel<>, shape{512, 4, 4}>::attention::size.params ==
              512 * 32 + 2 * 32 + 2 * 512 * 32 + 2 * 512);

TEST_CASE("selective_kernel matches the naive unit", "[layers][sk]") {
  check_against_naive<tiny1, shape{4, 5, 5}>(3);
  check_against_naive<tiny2, shape{4, 6, 6}>(2);
  check_against_naive<tiny1_paper, shape{4, 5, 5}>(2);
  check_against_naive<tiny2_paper, shape{4, 6, 6}>(3);
  check_against_naive<sk_args{.groups = 8}, shape{16, 4, 4}>(2);   // the seed's z = 32 floor
}

TEST_CASE("selective_kernel gradients match finite differences", "[layers][sk][gradcheck]") {
  CNNZOO_CHECK_GRADIENTS(sk1, {.batch = 3});
  CNNZOO_CHECK_GRADIENTS(sk2, {.batch = 2});
  CNNZOO_CHECK_GRADIENTS(sk1_paper, {.batch = 2});
  CNNZOO_CHECK_GRADIENTS(sk2_paper, {.batch = 3});
  CNNZOO_CHECK_GRADIENTS(sk1, {.batch = 2, .training = false});
}
