// Fusion in an inference-only forward (graph/fusion.hpp, network::infer): which adjacent parts
// fuse, and that the fused forward's logits are the unfused inference forward's: bit for bit where
// BatchNorm and an activation fuse (the reference policy in both precisions), to fp32 rounding where
// a convolution's BatchNorm is folded into it (the trainer's CPU policy).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include <cnnzoo/cnnzoo.hpp>
#include <cnnzoo/exec/cpu.hpp>
#include <cnnzoo/exec/eigen.hpp>

using namespace cnnzoo;

namespace {

template <int Out, int K = 3, int Stride = 1, bool Bias = false>
using cv = conv<conv_args{.out = Out, .kernel = K, .stride = Stride, .bias = Bias}>;

// BatchNorm followed by each kind of activation, BatchNorm followed by no activation (not a pair),
// an activation after a convolution (not a pair), pairs at the start and at the end of a seq, and
// pairs inside residual and concat branches.
struct mixed_net : seq<batch_norm, relu, cv<8>, batch_norm, relu6, cv<8>, batch_norm, swish,
                       residual<seq<batch_norm, hard_swish, cv<8>, batch_norm, sigmoid, cv<8>, batch_norm>>,
                       concat<identity, seq<batch_norm, hard_sigmoid, cv<4, 1>, batch_norm, relu>>, cv<12>, relu,
                       max_pool<2>, batch_norm, relu, global_avg_pool, dense<10>> {
  static constexpr shape input{3, 8, 8};
};

// Every kind of convolution before a BatchNorm: with and without bias, 1x1, strided, grouped and
// depthwise, a 3x3 on 16x16 (Winograd's shape where oneDNN has it); each followed by an activation
// oneDNN applies as a post-op (relu, relu6, sigmoid, swish), one it does not (hard_swish,
// hard_sigmoid), or none (the residual branch's last BatchNorm).
struct conv_net
    : seq<cv<16>, batch_norm, relu, cv<16, 1, 1, true>, batch_norm, hard_swish,
          residual<seq<cv<16, 3, 1, true>, batch_norm, swish, cv<16>, batch_norm>>, cv<24, 3, 2>, batch_norm, relu6,
          conv<conv_args{.kernel = 3, .depthwise = true}>, batch_norm, sigmoid,
          conv<conv_args{.out = 24, .kernel = 1, .groups = 4}>, batch_norm, hard_sigmoid, global_avg_pool, dense<10>> {
  static constexpr shape input{3, 16, 16};
};

// Convolutions and their BatchNorms with nothing after them.
struct conv_norm_net : seq<cv<8>, batch_norm, cv<8>, batch_norm, global_avg_pool, dense<10>> {
  static constexpr shape input{3, 8, 8};
};

// Random running statistics, gammas and betas: the defaults (mean 0, variance 1, gamma 1, beta 0)
// would make BatchNorm nearly the identity and hide a mistake in its affine map.
template <class Net>
void randomize_statistics(Net& net) {
  using W = typename Net::policy_type::weight_type;
  rng g(5);
  std::vector<W> p = net.download_params(), s = net.download_state();
  for (const tensor_entry& e : net.tensors()) {
    if (e.info.init == init_kind::kernel) continue;
    W* v = (e.is_state ? s.data() : p.data()) + e.offset;
    const bool positive = e.is_state && e.info.init == init_kind::ones;   // a running variance
    for (std::size_t i = 0; i < e.info.count(); ++i)
      v[i] = static_cast<W>(positive ? 0.2 + g.uniform(0.0, 2.0) : g.uniform(-1.0, 1.0));
  }
  net.upload_params(p);
  net.upload_state(s);
}

template <class Net>
std::vector<float> images_for(int n) {
  rng g(9);
  std::vector<float> x(static_cast<std::size_t>(n) * Net::input_shape.size());
  for (float& v : x) v = static_cast<float>(g.normal());
  return x;
}

// infer() on a network left in training mode gives the unfused forward in inference mode (bit for
// bit unless `tolerance`: then to within it, relative to the largest logit); it changes neither the
// training switch nor the running statistics.
template <class Net>
void check_fused_equals_unfused(int n, double tolerance = 0) {
  Net net(n, 3);
  randomize_statistics(net);
  const std::vector<float> x = images_for<Net>(n);
  const auto state_before = net.download_state();
  net.set_training(true);
  const auto fused = net.infer_host(x.data(), n);
  CHECK(net.training());
  CHECK(net.download_state() == state_before);
  net.set_training(false);
  const auto unfused = net.logits_host(x.data(), n);
  REQUIRE(fused.size() == unfused.size());
  if (tolerance == 0) {
    CHECK(std::memcmp(fused.data(), unfused.data(), fused.size() * sizeof(fused[0])) == 0);
  } else {
    double err = 0, scale = 0;
    for (std::size_t i = 0; i < fused.size(); ++i) {
      err = std::max(err, std::abs(static_cast<double>(fused[i]) - unfused[i]));
      scale = std::max(scale, std::abs(static_cast<double>(unfused[i])));
    }
    CHECK(scale > 0.1);   // logits that say something
    CHECK(err <= tolerance * scale);
  }
  CHECK(net.predict(x.data(), n).size() == static_cast<std::size_t>(n));
}

// How many parts the fused op starting at each part of the top-level seq covers (0: none).
template <class Net, class P = typename Net::policy_type>
std::vector<int> fused_parts() {
  using list = typename Net::root::list;
  std::vector<int> at;
  for (std::size_t i = 0; i < list::count; ++i) at.push_back(list::template fused<P>[i].parts);
  return at;
}

}  // namespace

TEST_CASE("graph: what fuses depends on the parts and on what the policy has", "[graph][fusion]") {
  // mixed_net's top-level seq: bn relu | cv | bn relu6 | cv | bn swish | residual | concat | cv | relu |
  // max_pool | bn relu | gap | dense
  // The reference policy fuses BatchNorm and an activation only; a convolution then an activation
  // (cv relu) is nothing to fuse.
  const std::vector<int> pairs = {2, 0, 0, 2, 0, 0, 2, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0};
  CHECK(fused_parts<network<mixed_net, exec::eigen<double>>>() == pairs);
  STATIC_REQUIRE(ops::fused_norm_activation_ops_of<exec::eigen<float>, float, float>);
  STATIC_REQUIRE(!ops::fused_conv_norm_activation_ops_of<exec::eigen<float>, float, float>);
  // The CPU policy also folds a convolution's BatchNorm into it: cv bn relu6 and cv bn swish are
  // triples (the seq then goes on after them, so the pairs at 3 and 6 are not reached).
  const std::vector<int> triples = {2, 0, 3, 2, 0, 3, 2, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0};
  CHECK(fused_parts<network<mixed_net, exec::cpu>>() == triples);
  // conv_net: cv bn relu | cv bn hard_swish | residual | cv bn relu6 | dw bn sigmoid | gcv bn hard_sigmoid |
  // gap | dense; the residual branch ends in a convolution and its BatchNorm, a pair.
  const std::vector<int> convs = {3, 2, 0, 3, 2, 0, 0, 3, 2, 0, 3, 2, 0, 3, 2, 0, 0, 0};
  CHECK(fused_parts<network<conv_net, exec::cpu>>() == convs);
  // A convolution and its BatchNorm with no activation after them: a pair.
  CHECK(fused_parts<network<conv_norm_net, exec::cpu>>() == std::vector<int>{2, 0, 2, 0, 0, 0});
  CHECK(fused_parts<network<conv_norm_net, exec::eigen<float>>>() == std::vector<int>{0, 0, 0, 0, 0, 0});
}

TEST_CASE("graph: infer() gives the unfused inference logits", "[graph][fusion]") {
  // BatchNorm and activation pairs only: bit for bit.
  check_fused_equals_unfused<network<mixed_net, exec::eigen<double>>>(5);
  check_fused_equals_unfused<network<mixed_net, exec::eigen<float>>>(5);
  check_fused_equals_unfused<network<conv_net, exec::eigen<float>>>(3);
  // Convolutions with their BatchNorm folded in: fp32 rounding (the weights are scaled before the
  // products instead of the sums after).
  check_fused_equals_unfused<network<mixed_net, exec::cpu>>(5, 1e-5);
  check_fused_equals_unfused<network<conv_net, exec::cpu>>(3, 1e-5);
}
