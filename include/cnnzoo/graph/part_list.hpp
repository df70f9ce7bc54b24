#pragma once
// A list of bound parts laid out one after another, the building block of every combinator.
// Offsets are compile-time prefix sums; forward and backward are reached through constexpr
// tables of function pointers, so a list of fifty parts costs no recursive instantiation.
#include <array>
#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include "fusion.hpp"
#include "part.hpp"

namespace cnnzoo::detail {

template <bound_part... B>
struct part_list {
  static constexpr std::size_t count = sizeof...(B);
  static constexpr sizes total = (sizes{} + ... + B::size);
  static constexpr std::size_t flops = (std::size_t{0} + ... + B::flops);
  static constexpr std::array<sizes, count> offsets = [] {
    std::array<sizes, count> o{};
    sizes acc{};
    std::size_t i = 0;
    ((o[i++] = acc, acc = acc + B::size), ...);
    return o;
  }();
  // Offset of each part's output inside the list's act region, per image.
  static constexpr std::array<std::size_t, count> outputs = [] {
    std::array<std::size_t, count> o{};
    std::size_t i = 0;
    ((o[i] = offsets[i].act + B::out_at, ++i), ...);
    return o;
  }();
  static constexpr std::array<bool, count> passthrough{B::passthrough...};
  static constexpr std::array<shape, count> out_shapes{B::out...};

  template <class P> using forward_fn = void (*)(const pass<P>&, slot_t<P>, const value_t<P>*);
  template <class P>
  using backward_fn = void (*)(const pass<P>&, slot_t<P>, const value_t<P>*, const value_t<P>*, value_t<P>*);
  template <class P> static constexpr std::array<forward_fn<P>, count> forwards{&B::template forward<P>...};
  template <class P> static constexpr std::array<backward_fn<P>, count> backwards{&B::template backward<P>...};

  // fused<P>[i]: the op that runs parts i, i + 1 (and i + 2) as one in an inference-only forward
  // (graph/fusion.hpp), or none where the parts from i on are nothing the policy fuses.
  template <std::size_t I>
  using part_or_void =
      typename std::conditional_t<(I < count), std::tuple_element<I, std::tuple<B...>>, std::type_identity<void>>::type;
  template <class P>
  static constexpr std::array<fused_op<P>, count> fused = [] {
    std::array<fused_op<P>, count> f{};
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((f[I] = fusion_from<P, part_or_void<I>, part_or_void<I + 1>, part_or_void<I + 2>>()), ...);
    }(std::make_index_sequence<count>{});
    return f;
  }();

  template <class V>
  static void describe(V& v) { (B::describe(v), ...); }
};

// Binding a list of layer specs in a chain, each to the previous one's output shape, as a left
// fold over operator>> (no recursion depth to run out of).
template <shape S, class... B>
struct chain {
  static constexpr shape out = S;
  using list = part_list<B...>;
};
template <class L> struct tag {};
template <shape S, class... B, class L>
constexpr auto operator>>(chain<S, B...>, tag<L>) {
  using next = bind_t<L, S>;
  static_assert(bound_part<next>, "cnnzoo: a part of seq<...> is not a layer (it has no bind<shape> with in, "
                                  "out, size, out_at, flops, passthrough)");
  return chain<next::out, B..., next>{};
}
template <shape In, class... L>
using chain_t = decltype((chain<In>{} >> ... >> tag<L>{}));

}  // namespace cnnzoo::detail
