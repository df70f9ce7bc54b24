#pragma once
// concat<B...>: branches that all see the same input, their outputs stacked along channels
// (Inception modules, DenseNet's kept input, Fire's two expands). Branches must agree on height
// and width. Layout: the branches' regions, the output, and an input-sized gradient buffer.
#include "../ops/geometry.hpp"
#include "identity.hpp"
#include "part_list.hpp"

namespace cnnzoo {

namespace detail {
template <shape In, class... B>
struct concat_bound : part_defaults {
  using list = part_list<B...>;
  static_assert(list::count >= 1, "cnnzoo: concat<> needs at least one branch");
  static constexpr shape first = list::out_shapes[0];
  static_assert(((B::out.h == first.h && B::out.w == first.w) && ...),
                "cnnzoo: the branches of concat<> must have the same height and width");
  static constexpr shape in = In;
  static constexpr shape out{(0 + ... + B::out.c), first.h, first.w};
  static constexpr std::size_t out_at = list::total.act;
  static constexpr sizes size = list::total + sizes{0, 0, out.size() + In.size(), 0};
  static constexpr std::size_t flops = list::flops;
  // First output channel of each branch.
  static constexpr std::array<int, list::count> channel_offsets = [] {
    std::array<int, list::count> o{};
    int acc = 0;
    for (std::size_t i = 0; i < list::count; ++i) { o[i] = acc; acc += list::out_shapes[i].c; }
    return o;
  }();

  static constexpr ops::channel_copy block(std::size_t i, int n, bool into_output) noexcept {
    const int c = list::out_shapes[i].c, hw = out.h * out.w;
    return into_output ? ops::channel_copy{n, hw, c, 0, out.c, channel_offsets[i], c}
                       : ops::channel_copy{n, hw, out.c, channel_offsets[i], c, 0, c};
  }

  template <class P>
  static void forward(const pass<P>& ps, slot_t<P> at, const value_t<P>* x) {
    const std::size_t n = static_cast<std::size_t>(ps.n);
    for (std::size_t i = 0; i < list::count; ++i) {
      list::template forwards<P>[i](ps, at.at(list::offsets[i], n), x);
      const value_t<P>* yi = list::passthrough[i] ? x : at.act + list::outputs[i] * n;
      ps.policy.copy_channels(block(i, ps.n, true), yi, at.act + out_at * n, false);
    }
  }

  template <class P>
  static void backward(const pass<P>& ps, slot_t<P> at, const value_t<P>* x, const value_t<P>* dy,
                       value_t<P>* dx) {
    using T = value_t<P>;
    const std::size_t n = static_cast<std::size_t>(ps.n), in_count = n * In.size();
    T* tmp = at.dact + (out_at + out.size()) * n;
    bool first = true;
    for (std::size_t i = 0; i < list::count; ++i) {
      if (list::passthrough[i]) {            // its slice of dy is its input's gradient
        if (dx) {
          if (first) ps.policy.copy_channels(block(i, ps.n, false), dy, dx, false);
          else ps.policy.copy_channels(block(i, ps.n, false), dy, dx, true);
        }
      } else {
        T* dyi = at.dact + list::outputs[i] * n;
        ps.policy.copy_channels(block(i, ps.n, false), dy, dyi, false);
        T* target = !dx ? nullptr : first ? dx : tmp;
        list::template backwards<P>[i](ps, at.at(list::offsets[i], n), x, dyi, target);
        if (dx && !first) ps.policy.axpby(in_count, T(1), tmp, T(1), dx);
      }
      first = false;
    }
  }
};
}  // namespace detail

template <class... L>
struct concat {
  template <shape In>
  struct bind : detail::concat_bound<In, bind_t<L, In>...> {
    template <class V>
    static void describe(V& v) {
      v.begin({"concat", In, bind::out, bind::size, bind::flops});
      bind::list::describe(v);
      v.end();
    }
  };
};

}  // namespace cnnzoo
