#pragma once
// Branches that all see the same input and are joined elementwise:
//   sum<B...>        y = B1(x) + B2(x) + ...
//   mean_join<B...>  y = (B1(x) + B2(x) + ...) / k      (FractalNet's join)
//   residual<Body, Shortcut = identity>   y = Body(x) + Shortcut(x)
// Layout: the branches' regions, then the output, then one input-sized buffer in which the
// backward pass collects each branch's input gradient before adding it to the others.
#include "identity.hpp"
#include "part_list.hpp"

namespace cnnzoo {

namespace detail {

template <bool Mean, shape In, class... B>
struct join_bound : part_defaults {
  using list = part_list<B...>;
  static_assert(list::count >= 1, "cnnzoo: a join needs at least one branch");
  static constexpr shape in = In;
  static constexpr shape out = list::out_shapes[0];
  static_assert(((B::out == out) && ...),
                "cnnzoo: the branches of sum<>/mean_join<>/residual<> must have the same output shape");
  static constexpr std::size_t out_at = list::total.act;
  static constexpr sizes size = list::total + sizes{0, 0, out.size() + In.size(), 0};
  static constexpr std::size_t flops = list::flops + (list::count - 1) * out.size();

  template <class P>
  static void forward(const pass<P>& ps, slot_t<P> at, const value_t<P>* x) {
    using T = value_t<P>;
    const std::size_t n = static_cast<std::size_t>(ps.n), count = n * out.size();
    T* y = at.act + out_at * n;
    for (std::size_t i = 0; i < list::count; ++i) {
      const slot_t<P> bi = at.at(list::offsets[i], n);
      list::template forwards<P>[i](ps, bi, x);
      const T* yi = list::passthrough[i] ? x : at.act + list::outputs[i] * n;
      if (i == 0) ps.policy.axpby(count, T(1), yi, T(0), y);
      else ps.policy.axpby(count, T(1), yi, T(1), y);
    }
    if constexpr (Mean) ps.policy.axpby(count, T(1) / T(list::count), y, T(0), y);
  }

  template <class P>
  static void backward(const pass<P>& ps, slot_t<P> at, const value_t<P>* x, const value_t<P>* dy,
                       value_t<P>* dx) {
    using T = value_t<P>;
    const std::size_t n = static_cast<std::size_t>(ps.n), count = n * out.size(), in_count = n * In.size();
    if constexpr (Mean) {  // every branch sees dy / k; scale once into the output's gradient slot
      T* scaled = at.dact + out_at * n;
      ps.policy.axpby(count, T(1) / T(list::count), dy, T(0), scaled);
      dy = scaled;
    }
    T* tmp = at.dact + (out_at + out.size()) * n;
    bool first = true;
    for (std::size_t i = 0; i < list::count; ++i) {
      if (list::passthrough[i]) {            // an identity branch passes dy straight through
        if (dx) ps.policy.axpby(in_count, T(1), dy, first ? T(0) : T(1), dx);
      } else {
        T* target = !dx ? nullptr : first ? dx : tmp;
        list::template backwards<P>[i](ps, at.at(list::offsets[i], n), x, dy, target);
        if (dx && !first) ps.policy.axpby(in_count, T(1), tmp, T(1), dx);
      }
      first = false;
    }
  }
};

}  // namespace detail

template <class... L>
struct sum {
  template <shape In>
  struct bind : detail::join_bound<false, In, bind_t<L, In>...> {
    template <class V>
    static void describe(V& v) {
      v.begin({"sum", In, bind::out, bind::size, bind::flops});
      bind::list::describe(v);
      v.end();
    }
  };
};

template <class... L>
struct mean_join {
  template <shape In>
  struct bind : detail::join_bound<true, In, bind_t<L, In>...> {
    template <class V>
    static void describe(V& v) {
      v.begin({"mean_join", In, bind::out, bind::size, bind::flops});
      bind::list::describe(v);
      v.end();
    }
  };
};

template <class Body, class Shortcut = identity>
struct residual {
  template <shape In>
  struct bind : detail::join_bound<false, In, bind_t<Body, In>, bind_t<Shortcut, In>> {
    static_assert(bind_t<Body, In>::out == bind_t<Shortcut, In>::out,
                  "cnnzoo: residual body and shortcut shapes differ; use a projection shortcut "
                  "(e.g. conv<conv_args{.out = C, .kernel = 1, .stride = S}>) where the body changes the shape");
    template <class V>
    static void describe(V& v) {
      v.begin({"residual", In, bind::out, bind::size, bind::flops});
      bind::list::describe(v);
      v.end();
    }
  };
};

}  // namespace cnnzoo
