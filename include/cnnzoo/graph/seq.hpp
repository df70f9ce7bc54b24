#pragma once
// seq<L...>: parts applied one after another, each bound to the previous one's output shape.
#include "part_list.hpp"

namespace cnnzoo {

namespace detail {
template <shape In, class Chain>
struct seq_bound : part_defaults {
  using list = typename Chain::list;
  static_assert(list::count > 0, "cnnzoo: seq<> needs at least one part");
  static constexpr shape in = In, out = Chain::out;
  static constexpr sizes size = list::total;
  static constexpr std::size_t out_at = list::outputs[list::count - 1];
  static constexpr std::size_t flops = list::flops;
  static constexpr bool any_passthrough = [] {
    for (bool b : list::passthrough) if (b) return true;
    return false;
  }();
  static_assert(!any_passthrough, "cnnzoo: identity belongs in residual<>, sum<> or concat<>, not in seq<>");

  template <class P>
  static void forward(const pass<P>& ps, slot_t<P> at, const value_t<P>* x) {
    const std::size_t n = static_cast<std::size_t>(ps.n);
    for (std::size_t i = 0; i < list::count; ++i) {
      if (const auto fused = list::template fused<P>[i]; fused && ps.fused) {
        // Parts i .. i + fused.parts - 1 as one op: only the last one's output is written
        // (graph/fusion.hpp).
        std::array<slot_t<P>, max_fused_parts> slots{};
        for (int k = 0; k < fused.parts; ++k) slots[k] = at.at(list::offsets[i + k], n);
        fused.run(ps, slots.data(), x);
        i += fused.parts - 1;
        x = at.act + list::outputs[i] * n;
        continue;
      }
      list::template forwards<P>[i](ps, at.at(list::offsets[i], n), x);
      x = at.act + list::outputs[i] * n;
    }
  }
  template <class P>
  static void backward(const pass<P>& ps, slot_t<P> at, const value_t<P>* x, const value_t<P>* dy,
                       value_t<P>* dx) {
    const std::size_t n = static_cast<std::size_t>(ps.n);
    for (std::size_t i = list::count; i-- > 0;) {
      const value_t<P>* xi = i == 0 ? x : at.act + list::outputs[i - 1] * n;
      const value_t<P>* dyi = i + 1 == list::count ? dy : at.dact + list::outputs[i] * n;
      value_t<P>* dxi = i == 0 ? dx : at.dact + list::outputs[i - 1] * n;
      list::template backwards<P>[i](ps, at.at(list::offsets[i], n), xi, dyi, dxi);
    }
  }
};
}  // namespace detail

template <class... L>
struct seq {
  static constexpr std::string_view kind = "seq";
  template <shape In>
  struct bind : detail::seq_bound<In, detail::chain_t<In, L...>> {
    template <class V>
    static void describe(V& v) {
      v.begin({"seq", In, bind::out, bind::size, bind::flops});
      bind::list::describe(v);
      v.end();
    }
  };
};

}  // namespace cnnzoo
