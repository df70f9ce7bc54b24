#pragma once
// What every part of a network is: the protocol between layers, combinators and the network.
//
// A *layer spec* is a type whose hyperparameters are template arguments, e.g.
// `conv<conv_args{.out = 64}>`. It has a member template `bind<shape In>` that fixes its input
// shape; the result is a *bound part* with
//   in, out      compile-time shapes (per image);
//   size         its `sizes` (params, state, act, aux; see core/layout.hpp);
//   out_at       offset of its output inside its act region (per image);
//   passthrough  true only for the identity, whose output is its input;
//   flops        forward FLOPs per image (2 per multiply-accumulate, 1 per output element of
//                normalisation, activation, pooling and elementwise parts);
//   forward / backward over any execution policy, and describe(visitor) for summaries,
//   initialisation and checkpoint tables.
// Policies are plain objects: `p.conv2d_forward(...)`. A part never names a policy.
#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "../core/layout.hpp"
#include "../core/shape.hpp"

namespace cnnzoo {

// Per-pass switches a user changes without recompiling.
struct run_options {
  float dropout = -1.0f;      // < 0: every dropout layer uses its own rate
  float drop_path = -1.0f;    // < 0: every stochastic-depth gate uses its own rate; >= 0 multiplies
                              // every gate's drop probability (1 - survival), clamped to [0, 1]:
                              // 0 turns drop-path off, 1 keeps the model's rates (layers/drop_path.hpp)
};

// Run-time facts of one forward or backward pass.
template <class P>
struct pass {
  P& policy;
  int n = 0;                   // images in this batch (at most the planned batch)
  bool training = false;
  std::uint64_t seed = 0;      // per-step seed for dropout and drop-path masks
  const typename P::value_type* act_base = nullptr;  // start of the activation arena: a part's
                                                     // offset from it keys its random masks, so
                                                     // every policy draws the same ones
  run_options options{};
  bool fused = false;  // an inference-only forward (network::infer): no backward follows, so adjacent
                       // parts may run as one op, leaving the output between them unwritten
                       // (graph/fusion.hpp)

  template <class A>
  std::uint64_t key(const A* where) const noexcept {
    return seed ^ (0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(where - act_base + 1));
  }
};

template <class P> using value_t = typename P::value_type;
template <class P> using weight_t = typename P::weight_type;
template <class P> using slot_t = slot<weight_t<P>, value_t<P>>;


// How parameters are initialised and whether L2 weight decay applies to them (the seed puts a
// kernel_regularizer on convolution and dense kernels only, not on biases or BatchNorm). Kernels
// are drawn by the network's kernel initializer (a run-time choice, part of a training recipe);
// the rest is constant.
enum class init_kind : std::uint8_t { kernel, zeros, ones };

// How kernels are drawn. he_normal: Keras' (a normal truncated at two standard deviations and
// widened so that the variance is 2 / fan_in), the seed's stated choice. glorot_uniform: U(-l, l),
// l = sqrt(6 / (fan_in + fan_out)), what Keras uses where a model's code names no initializer.
enum class kernel_init : std::uint8_t { he_normal, glorot_uniform };

constexpr std::string_view to_string(kernel_init k) noexcept {
  return k == kernel_init::he_normal ? "he_normal" : "glorot_uniform";
}

struct tensor_info {
  std::string_view role;        // "weight", "bias", "gamma", "running_mean", ...
  std::array<int, 4> dims{};    // unused trailing dims are 1
  int rank = 1;
  init_kind init = init_kind::zeros;
  bool decay = false;
  constexpr std::size_t count() const noexcept {
    std::size_t c = 1;
    for (int i = 0; i < rank; ++i) c *= static_cast<std::size_t>(dims[i]);
    return c;
  }
  // A kernel is (outputs, inputs per group, kh, kw) or (outputs, inputs): its fans are counted as
  // PyTorch counts them. Keras counts the same for dense and ungrouped convolutions; for a
  // depthwise kernel it multiplies fan_in by the channels instead of fan_out.
  constexpr int receptive_field() const noexcept {
    int r = 1;
    for (int i = 2; i < rank; ++i) r *= dims[i];
    return r;
  }
  constexpr int fan_in() const noexcept { return dims[1] * receptive_field(); }
  constexpr int fan_out() const noexcept { return dims[0] * receptive_field(); }
};

struct part_info {
  std::string_view kind;        // "conv2d", "residual", ...
  shape in, out;
  sizes size;
  std::size_t flops = 0;
};

namespace detail {
// A layer spec may carry a name (`static constexpr std::string_view name = "preact_basic_unit";`,
// typically a named block deriving from a combinator); summaries then show that name instead of
// the combinator's kind. The bound part is otherwise the spec's own.
template <class V>
struct renaming_visitor {
  V& inner;
  std::string_view name;
  bool renamed = false;
  void begin(part_info p) {
    if (!renamed) { p.kind = name; renamed = true; }
    inner.begin(p);
  }
  void end() { inner.end(); }
  void param(const tensor_info& t) { inner.param(t); }
  void state(const tensor_info& t) { inner.state(t); }
};
template <class L, class B>
struct named_part : B {
  template <class V>
  static void describe(V& v) {
    renaming_visitor<V> r{v, L::name};
    B::describe(r);
  }
};
// A layer spec: a type with a member template bind<shape> (naming it instantiates nothing).
template <class L>
concept layer_spec = requires { typename L::template bind<shape{1, 1, 1}>; };

template <class L, shape In>
struct bind_of {
  static_assert(layer_spec<L>, "cnnzoo: a part of this network is not a layer: it has no member template "
                               "bind<shape> (the instantiation below names it; see graph/part.hpp)");
  using type = typename L::template bind<In>;
};
template <class L, shape In>
  requires requires { { L::name } -> std::convertible_to<std::string_view>; }
struct bind_of<L, In> {
  using type = named_part<L, typename L::template bind<In>>;
};
}  // namespace detail

template <class L, shape In> using bind_t = typename detail::bind_of<L, In>::type;

template <class B>
concept bound_part = requires {
  { B::in } -> std::convertible_to<shape>;
  { B::out } -> std::convertible_to<shape>;
  { B::size } -> std::convertible_to<sizes>;
  { B::out_at } -> std::convertible_to<std::size_t>;
  { B::flops } -> std::convertible_to<std::size_t>;
  { B::passthrough } -> std::convertible_to<bool>;
};

// Defaults every bound part can inherit.
struct part_defaults {
  static constexpr bool passthrough = false;
  static constexpr std::size_t out_at = 0;
};

// The output of bound part B that sits at `at`, given its input x.
template <bound_part B, class W, class A>
constexpr const A* output_of(const slot<W, A>& at, const A* x, std::size_t n) noexcept {
  if constexpr (B::passthrough) return x;
  else return at.act + B::out_at * n;
}
// Where the gradient of that output is expected (null for a passthrough part).
template <bound_part B, class W, class A>
constexpr A* output_grad_of(const slot<W, A>& at, std::size_t n) noexcept {
  if constexpr (B::passthrough) return nullptr;
  else return at.dact + B::out_at * n;
}

}  // namespace cnnzoo
