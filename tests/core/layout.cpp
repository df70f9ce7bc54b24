// Where parts keep their numbers: sizes arithmetic, slot offsets, part_list prefix sums, and the
// tensor table (every parameter value covered exactly once, in order, summing to
// trainable_params; state likewise), plus what the network initialises from that table.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <cnnzoo/cnnzoo.hpp>
#include <cnnzoo/exec/eigen.hpp>
#include <cnnzoo/models/resnet.hpp>

using namespace cnnzoo;

namespace {

template <int Out, int K = 3, int Stride = 1, bool Bias = false>
using cv = conv<conv_args{.out = Out, .kernel = K, .stride = Stride, .bias = Bias}>;

constexpr shape S{3, 8, 8};
using b0 = bind_t<cv<4, 3, 1, true>, S>;
using b1 = bind_t<batch_norm, b0::out>;
using b2 = bind_t<dropout<0.5>, b1::out>;
using b3 = bind_t<max_pool<2>, b2::out>;
using b4 = bind_t<flatten, b3::out>;
using b5 = bind_t<dense<7>, b4::out>;
using list = detail::part_list<b0, b1, b2, b3, b4, b5>;

// Nesting of every combinator, ending flat so that it can be a network.
struct nested : seq<cv<4, 3, 1, true>, batch_norm, relu,
                    residual<seq<cv<4>, batch_norm, relu, cv<4>>>,
                    concat<identity, seq<batch_norm, relu, cv<2, 1>>>,
                    residual<mean_join<cv<5, 3, 2>, seq<cv<5, 1, 2>, batch_norm>>, cv<5, 1, 2, true>>,
                    sum<cv<5>, identity>, global_avg_pool, dense<10>> {
  static constexpr shape input = S;
};

struct wide : seq<cv<64, 3>, global_avg_pool, dense<10>> {
  static constexpr shape input{32, 4, 4};
};

template <model M>
void check_table_covers_buffers() {
  const std::vector<tensor_entry> table = tensor_table<M>();
  std::size_t next_param = 0, next_state = 0;
  for (const tensor_entry& e : table) {
    INFO(e.path);
    std::size_t& next = e.is_state ? next_state : next_param;
    CHECK(e.offset == next);   // in order, no gap, no overlap
    CHECK(e.info.count() > 0);
    next = e.offset + e.info.count();
  }
  CHECK(next_param == trainable_params<M>);
  CHECK(next_state == state_values<M>);
}

}  // namespace

static_assert(sizes{1, 2, 3, 4} + sizes{10, 20, 30, 40} == sizes{11, 22, 33, 44});
static_assert(sizes{} == sizes{0, 0, 0, 0});

// part_list offsets are the prefix sums of the parts' sizes, outputs sit at offset + out_at.
static_assert(list::offsets[0] == sizes{});
static_assert(list::offsets[1] == b0::size);
static_assert(list::offsets[2] == b0::size + b1::size);
static_assert(list::offsets[5] == b0::size + b1::size + b2::size + b3::size + b4::size);
static_assert(list::total == list::offsets[5] + b5::size);
static_assert(list::outputs[3] == list::offsets[3].act + b3::out_at);
static_assert(list::flops == b0::flops + b1::flops + b2::flops + b3::flops + b4::flops + b5::flops);
static_assert(list::out_shapes[5] == shape{7, 1, 1});

// Per-layer sizes from their definitions.
static_assert(b0::size == sizes{4 * 3 * 9 + 4, 0, 4 * 64, 0});
static_assert(b1::size == sizes{8, 8, 4 * 64, 8});
static_assert(b2::size == sizes{0, 0, 2 * 4 * 64, 0});   // output and mask
static_assert(b5::size == sizes{7 * 64 + 7, 0, 7, 0});
static_assert(b0::flops == 2 * 4 * 64 * 27);

// Model traits agree with the parts.
static_assert(trainable_params<nested> == bound_model<nested>::size.params);
static_assert(keras_total<nested> == trainable_params<nested> + state_values<nested>);
static_assert(batch_norm_channels<nested> == 4 + 4 + 4 + 5);
static_assert(output_shape<nested> == shape{10, 1, 1});
static_assert(model_input<nested> == S && model_input<models::resnet18> == cifar10_image);

TEST_CASE("slot::at moves parameter and gradient together and scales activations by the batch", "[core][layout]") {
  std::vector<double> p(100), g(100), s(100), a(1000), da(1000), x(100);
  const slot<double> base{p.data(), g.data(), s.data(), a.data(), da.data(), x.data()};
  const slot<double> child = base.at(sizes{5, 6, 7, 8}, 3);
  CHECK(child.params == p.data() + 5);
  CHECK(child.grads == g.data() + 5);
  CHECK(child.state == s.data() + 6);
  CHECK(child.act == a.data() + 21);
  CHECK(child.dact == da.data() + 21);
  CHECK(child.aux == x.data() + 8);
}

TEST_CASE("tensor table covers the parameter and state buffers exactly once, in order", "[core][layout]") {
  SECTION("nested combinators") { check_table_covers_buffers<nested>(); }
  SECTION("ResNet18") { check_table_covers_buffers<models::resnet18>(); }
}

TEST_CASE("tensor table names and shapes", "[core][layout]") {
  const auto table = tensor_table<nested>();
  REQUIRE(table.size() >= 4);
  CHECK(table[0].path == "0.seq/0.conv2d/weight");
  CHECK(table[0].info.dims == std::array<int, 4>{4, 3, 3, 3});
  CHECK(table[0].info.decay);
  CHECK(table[1].path == "0.seq/0.conv2d/bias");
  CHECK_FALSE(table[1].info.decay);
  CHECK(table[2].path == "0.seq/1.batch_norm/gamma");
  CHECK(table[3].path == "0.seq/1.batch_norm/beta");
  CHECK(table[4].path == "0.seq/1.batch_norm/running_mean");
  CHECK(table[4].is_state);
  CHECK(table[5].path == "0.seq/1.batch_norm/running_var");
  // Nested parts carry their parents' path.
  bool found = false;
  for (const auto& e : table)
    if (e.path == "0.seq/3.residual/0.seq/0.conv2d/weight") found = true;
  CHECK(found);
}

TEST_CASE("the network initialises every tensor by its table entry", "[core][layout]") {
  network<nested, exec::eigen<double>> net(2, 9);
  const auto params = net.download_params(), state = net.download_state();
  const double* mask = net.decay_mask();
  for (const tensor_entry& e : net.tensors()) {
    INFO(e.path);
    const double* v = (e.is_state ? state.data() : params.data()) + e.offset;
    const std::size_t count = e.info.count();
    switch (e.info.init) {
      case init_kind::zeros: for (std::size_t i = 0; i < count; ++i) CHECK(v[i] == 0); break;
      case init_kind::ones: for (std::size_t i = 0; i < count; ++i) CHECK(v[i] == 1); break;
      case init_kind::kernel: {
        // Truncated at 2 sigma of the widened normal: |w| < 2 * stddev / 0.8796...
        const double stddev = std::sqrt(2.0 / e.info.fan_in());
        double sq = 0;
        for (std::size_t i = 0; i < count; ++i) {
          CHECK(std::abs(v[i]) < 2 * stddev / 0.87962566103423978);
          sq += v[i] * v[i];
        }
        if (count >= 100) CHECK(std::sqrt(sq / count) == Approx(stddev).epsilon(0.25));
        break;
      }
    }
    if (!e.is_state)
      for (std::size_t i = 0; i < count; ++i) CHECK(mask[e.offset + i] == (e.info.decay ? 1.0 : 0.0));
  }
}

TEST_CASE("He-normal initialisation has the intended spread on a large layer", "[core][layout]") {
  network<wide, exec::eigen<double>> net(1, 3);
  const auto p = net.download_params();
  const std::size_t count = 64 * 32 * 9;   // fan_in 288
  double sum = 0, sq = 0;
  for (std::size_t i = 0; i < count; ++i) { sum += p[i]; sq += p[i] * p[i]; }
  CHECK(std::abs(sum / count) < 0.005);
  CHECK(std::sqrt(sq / count) == Approx(std::sqrt(2.0 / 288)).epsilon(0.03));
}

TEST_CASE("Glorot-uniform initialisation fills +-sqrt(6 / (fan_in + fan_out)) evenly", "[core][layout]") {
  network<wide, exec::eigen<double>> net(1, 3, {}, kernel_init::glorot_uniform);
  const auto p = net.download_params();
  const tensor_entry& k = net.tensors().front();
  REQUIRE(k.info.init == init_kind::kernel);
  CHECK(k.info.fan_in() == 32 * 9);
  CHECK(k.info.fan_out() == 64 * 9);
  const double limit = std::sqrt(6.0 / (288 + 576));
  const std::size_t count = k.info.count();
  double sum = 0, sq = 0, top = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const double w = p[k.offset + i];
    sum += w;
    sq += w * w;
    top = std::max(top, std::abs(w));
  }
  CHECK(top <= limit);
  CHECK(top > 0.99 * limit);
  CHECK(std::abs(sum / count) < 0.005);
  CHECK(std::sqrt(sq / count) == Approx(limit / std::sqrt(3.0)).epsilon(0.03));  // the uniform's spread
}

TEST_CASE("the kernel initializer changes kernels only, and he_normal stays the default", "[core][layout]") {
  network<nested, exec::eigen<double>> he(2, 9), he_named(2, 9, {}, kernel_init::he_normal),
      glorot(2, 9, {}, kernel_init::glorot_uniform);
  const auto a = he.download_params(), b = he_named.download_params(), c = glorot.download_params();
  CHECK(a == b);
  for (const tensor_entry& e : he.tensors()) {
    if (e.is_state) continue;
    INFO(e.path);
    const bool same = std::equal(a.begin() + e.offset, a.begin() + e.offset + e.info.count(), c.begin() + e.offset);
    CHECK(same == (e.info.init != init_kind::kernel));
  }
}
