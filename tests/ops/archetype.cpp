// The execution-policy contract (ops/policy.hpp) is the whole contract: a policy with exactly
// those ops, doing nothing, binds every kind of part the zoo has (convolutions, BatchNorm,
// activations, pools, dense, dropout, drop-path, channel shuffle, squeeze-excite, CBAM, selective
// kernels, concatenation, dual paths, fractal joins) and runs a training step through it. A
// layer that asked a policy for anything else would fail to compile here.
#include <catch2/catch.hpp>

#include <vector>

#include <cnnzoo/exec/eigen.hpp>
#include <cnnzoo/graph/network.hpp>
#include <cnnzoo/models/cbam.hpp>
#include <cnnzoo/models/dual_path.hpp>
#include <cnnzoo/models/fractalnet.hpp>
#include <cnnzoo/models/mobilenet.hpp>
#include <cnnzoo/models/shufflenet.hpp>
#include <cnnzoo/models/sknet.hpp>
#include <cnnzoo/models/stochastic_depth.hpp>
#include <cnnzoo/models/wide_resnet.hpp>
#include <cnnzoo/train/step.hpp>

namespace {

using namespace cnnzoo;
using namespace cnnzoo::ops;

// Every op of the contract, and nothing else. Each records that it ran.
struct archetype {
  using value_type = float;
  using weight_type = float;
  static constexpr std::string_view name = "archetype";
  template <class U> using buffer = std::vector<U>;
  using T = float;
  using W = float;
  mutable int calls = 0;

  template <class U> buffer<U> allocate(std::size_t n) const { return buffer<U>(n); }
  template <class U> void upload(U*, const U*, std::size_t) const { ++calls; }
  template <class U> void download(U*, const U*, std::size_t) const { ++calls; }
  void synchronize() const {}
  void bind_parameters(W*, W*, std::size_t) {}

  void conv2d_forward(const conv_geometry&, const T*, const W*, const W*, T*) const { ++calls; }
  void conv2d_backward(const conv_geometry&, const T*, const W*, const T*, T*, W*, W*) const { ++calls; }
  void batch_norm_forward(const batch_norm_geometry&, bool, const T*, const W*, const W*, W*, W*, W*, W*, T*) const { ++calls; }
  void batch_norm_backward(const batch_norm_geometry&, bool, const T*, const W*, const W*, const W*, const T*, T*, W*,
                           W*) const { ++calls; }
  void activation_forward(activation, std::size_t, const T*, T*) const { ++calls; }
  void activation_backward(activation, std::size_t, const T*, const T*, const T*, T*) const { ++calls; }

  void pool_forward(pool_kind, const pool_geometry&, const T*, T*) const { ++calls; }
  void pool_backward(pool_kind, const pool_geometry&, const T*, const T*, T*) const { ++calls; }
  void global_pool_forward(pool_kind, int, int, int, const T*, T*) const { ++calls; }
  void global_pool_backward(pool_kind, int, int, int, const T*, const T*, T*) const { ++calls; }
  void dense_forward(int, int, int, const T*, const W*, const W*, T*) const { ++calls; }
  void dense_backward(int, int, int, const T*, const W*, const T*, T*, W*, W*) const { ++calls; }
  void flatten_forward(int, int, int, const T*, T*) const { ++calls; }
  void flatten_backward(int, int, int, const T*, T*) const { ++calls; }

  void copy(std::size_t, const T*, T*) const { ++calls; }
  void fill(std::size_t, T, T*) const { ++calls; }
  void add(std::size_t, const T*, const T*, T*) const { ++calls; }
  void axpby(std::size_t, T, const T*, T, T*) const { ++calls; }
  void multiply(std::size_t, const T*, const T*, T*) const { ++calls; }
  void copy_channels(const channel_copy&, const T*, T*, bool) const { ++calls; }
  void dropout_forward(std::size_t, float, std::uint64_t, const T*, T*, T*) const { ++calls; }
  void bernoulli_mask(std::size_t, float, bool, std::uint64_t, T*) const { ++calls; }
  void shuffle_channels(int, int, int, int, const T*, T*) const { ++calls; }
  void scale_channels_forward(int, int, int, const T*, const T*, T*) const { ++calls; }
  void scale_channels_backward(int, int, int, const T*, const T*, const T*, T*, T*, bool) const { ++calls; }
  void render_batch(const render_geometry&, int, const image_recipe*, const std::uint8_t*, const float*, T*) const { ++calls; }

  void channel_pool_forward(pool_kind, int, int, int, const T*, T*) const { ++calls; }
  void channel_pool_backward(pool_kind, int, int, int, const T*, const T*, T*) const { ++calls; }
  void scale_spatial_forward(int, int, int, const T*, const T*, T*) const { ++calls; }
  void scale_spatial_backward(int, int, int, const T*, const T*, const T*, T*, T*, bool) const { ++calls; }
  void softmax_forward(const softmax_geometry&, const T*, T*) const { ++calls; }
  void softmax_backward(const softmax_geometry&, const T*, const T*, T*) const { ++calls; }

  double softmax_cross_entropy(int, int, const T*, const T*, T*) const { return ++calls, 2.0; }
  double sum_of_squares(std::size_t, const W*) const { return ++calls, 0.0; }
  void sgd_update(std::size_t, W*, const W*, W*, const W*, double, double, double, bool, double) const { ++calls; }
};

static_assert(execution_policy<archetype>);
static_assert(!device_step_policy<archetype>);
static_assert(execution_policy<exec::eigen<float>> && execution_policy<exec::eigen<double>>);
static_assert(!device_step_policy<exec::eigen<float>>);

// A policy one op short is not one.
struct missing_conv_backward : archetype {
  void conv2d_backward(int) const {}
};
static_assert(!ops::conv_norm_activation_ops<missing_conv_backward>);
static_assert(!execution_policy<missing_conv_backward>);

template <class M>
int step_calls() {
  network<M, archetype> net(2, 1);
  const std::vector<float> images(2 * network<M, archetype>::input_shape.size());
  const int labels[2] = {1, 2};
  train::trainer trainer(net);
  const int before = net.policy().calls;
  const double loss = trainer.train_step(images.data(), labels, 2);
  CHECK(loss == 2.0);   // the archetype's loss, returned as it is
  return net.policy().calls - before;
}

}  // namespace

TEST_CASE("ops: the optional fused ops are optional: infer() runs the parts one by one without them", "[ops][contract]") {
  static_assert(!ops::fused_norm_activation_ops_of<archetype, float, float>);
  static_assert(!ops::fused_conv_norm_activation_ops_of<archetype, float, float>);
  using net_t = network<models::wide_resnet<16, 1>, archetype>;
  net_t net(2, 1);
  const int before = net.policy().calls;
  net.infer(2);
  // Every part's own forward: nothing was fused, so no output was left unwritten.
  CHECK(net.policy().calls - before > 0);
  CHECK(!net_t::root::list::fused<archetype>[0]);
}

TEST_CASE("ops: the archetype policy binds every kind of part and runs a step", "[ops][contract]") {
  CHECK(step_calls<models::wide_resnet<16, 1>>() > 0);            // conv, BatchNorm, dropout, pools, dense
  CHECK(step_calls<models::shufflenet_v2>() > 0);                 // channel shuffle, depthwise
  CHECK(step_calls<models::cbam_resnet50>() > 0);                 // squeeze-excite, channel pooling, spatial scaling
  CHECK(step_calls<models::sknet>() > 0);                         // softmax over branches
  CHECK(step_calls<models::stochastic_depth_resnet50>() > 0);     // drop-path masks
  CHECK(step_calls<models::dual_path_net50>() > 0);               // dual paths, concatenation
  CHECK(step_calls<models::fractalnet>() > 0);                    // mean joins
  CHECK(step_calls<models::mobilenet_v3>() > 0);                  // hard-swish, SE with hard-sigmoid
}
