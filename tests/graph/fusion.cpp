// Fusion in an inference-only forward (graph/fusion.hpp, network::infer): which adjacent parts
// fuse, and that the fused forward's logits are the unfused inference forward's, bit for bit, on
// the reference policy in both precisions and on the trainer's CPU policy.
#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include <cnnzoo/cnnzoo.hpp>
#include <cnnzoo/exec/cpu.hpp>
#include <cnnzoo/exec/eigen.hpp>

using namespace cnnzoo;

namespace {

template <int Out, int K = 3, int Stride = 1>
using cv = conv<conv_args{.out = Out, .kernel = K, .stride = Stride}>;

// BatchNorm followed by each kind of activation, BatchNorm followed by no activation (not a pair),
// an activation after a convolution (not a pair), pairs at the start and at the end of a seq, and
// pairs inside residual and concat branches.
struct mixed_net : seq<batch_norm, relu, cv<8>, batch_norm, relu6, cv<8>, batch_norm, swish,
                       residual<seq<batch_norm, hard_swish, cv<8>, batch_norm, sigmoid, cv<8>, batch_norm>>,
                       concat<identity, seq<batch_norm, hard_sigmoid, cv<4, 1>, batch_norm, relu>>, cv<12>, relu,
                       max_pool<2>, batch_norm, relu, global_avg_pool, dense<10>> {
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

// infer() on a network left in training mode gives, bit for bit, the unfused forward in inference
// mode; it changes neither the training switch nor the running statistics.
template <class Net>
void check_fused_equals_unfused(int n) {
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
  CHECK(std::memcmp(fused.data(), unfused.data(), fused.size() * sizeof(fused[0])) == 0);
  CHECK(net.predict(x.data(), n).size() == static_cast<std::size_t>(n));
}

template <class Net, class P = typename Net::policy_type>
std::vector<bool> fused_pairs() {
  using list = typename Net::root::list;
  std::vector<bool> at;
  for (std::size_t i = 0; i < list::count; ++i) at.push_back(list::template fused<P>[i] != nullptr);
  return at;
}

}  // namespace

TEST_CASE("graph: BatchNorm then an activation is a fused pair; nothing else is", "[graph][fusion]") {
  // mixed_net's top-level seq: bn relu | cv | bn relu6 | cv | bn swish | residual | concat | cv | relu |
  // max_pool | bn relu | gap | dense
  const std::vector<bool> expected = {true,  false, false, true, false, false, true,  false, false,
                                      false, false, false, false, true, false, false, false};
  const auto got = fused_pairs<network<mixed_net, exec::eigen<double>>>();
  REQUIRE(got.size() == expected.size());
  CHECK(got == expected);
  // A policy without batch_norm_activation_forward_infer fuses nothing (tests/ops/archetype.cpp
  // runs infer() on one).
  STATIC_REQUIRE(ops::fused_norm_activation_ops_of<exec::eigen<float>, float, float>);
}

TEST_CASE("graph: infer() gives the unfused inference logits, bit for bit", "[graph][fusion]") {
  check_fused_equals_unfused<network<mixed_net, exec::eigen<double>>>(5);
  check_fused_equals_unfused<network<mixed_net, exec::eigen<float>>>(5);
  check_fused_equals_unfused<network<mixed_net, exec::cpu>>(5);
}
